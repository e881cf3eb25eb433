// SPDX-License-Identifier: MIT
// The CPUID-based ISA detection (what MSVC builds use) against the compiler's own
// __builtin_cpu_supports (what GCC and clang builds use): both must name the same ISAs here.
#include <mobilenet/kernels/cpu_features.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using mobilenet::Index;
using mobilenet::kernels::CpuCaches;
using mobilenet::kernels::Isa;
namespace fs = std::filesystem;

#if MOBILENET_X86_DISPATCH && !defined(_MSC_VER)
TEST(CpuFeatures, CpuidAgreesWithCompilerBuiltins) {
  for (Isa isa : {Isa::Avx2, Isa::Avx512})
    EXPECT_EQ(mobilenet::kernels::detail::cpuid_supports(isa), mobilenet::kernels::isa_supported(isa))
        << mobilenet::kernels::isa_name(isa);
}

TEST(CpuFeatures, CpuidAnswersOnlyForX86Isas) {
  EXPECT_FALSE(mobilenet::kernels::detail::cpuid_supports(Isa::Neon));
  EXPECT_FALSE(mobilenet::kernels::detail::cpuid_supports(Isa::Generic));
}
#endif

TEST(CpuFeatures, GenericAlwaysSupported) {
  Isa isas[4];
  const int n = mobilenet::kernels::supported_isas(isas);
  ASSERT_GE(n, 1);
  EXPECT_EQ(isas[0], Isa::Generic);
}

TEST(CpuFeatures, VectorBytes) {
  EXPECT_EQ(mobilenet::kernels::vector_bytes(Isa::Avx512), 64);
  EXPECT_EQ(mobilenet::kernels::vector_bytes(Isa::Avx2), 32);
  EXPECT_EQ(mobilenet::kernels::vector_bytes(Isa::Neon), 16);
  EXPECT_EQ(mobilenet::kernels::vector_bytes(Isa::Generic), 16);
}

// A fake /sys/devices/system/cpu/cpu0/cache under the test's temporary directory.
class FakeSysfs {
 public:
  explicit FakeSysfs(const std::string& name) : dir_(fs::temp_directory_path() / ("mobilenet_" + name)) {
    fs::remove_all(dir_);
  }
  ~FakeSysfs() { fs::remove_all(dir_); }
  void add(int index, const std::string& level, const std::string& type, const std::string& size,
           const std::string& shared) {
    const fs::path d = dir_ / ("index" + std::to_string(index));
    fs::create_directories(d);
    std::ofstream(d / "level") << level << "\n";
    std::ofstream(d / "type") << type << "\n";
    std::ofstream(d / "size") << size << "\n";
    std::ofstream(d / "shared_cpu_list") << shared << "\n";
  }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

TEST(CpuCaches, SysfsParsesSizesTypesAndSharers) {
  FakeSysfs sys("caches_range");
  sys.add(0, "1", "Data", "48K", "0");
  sys.add(1, "1", "Instruction", "64K", "0");
  sys.add(2, "2", "Unified", "1024K", "0");
  sys.add(3, "3", "Unified", "32M", "0-7");
  const CpuCaches c = mobilenet::kernels::cpu_caches_from_sysfs(sys.dir());
  EXPECT_EQ(c.l1d_bytes, 48 * 1024);
  EXPECT_EQ(c.l2_bytes, 1024 * 1024);
  EXPECT_EQ(c.l3_bytes, Index(32) << 20);
  EXPECT_EQ(c.l3_shared_by, 8);
  EXPECT_EQ(c.l3_share_bytes(), Index(4) << 20);
  EXPECT_STREQ(c.source, "sysfs");
}

TEST(CpuCaches, SysfsCountsListedSharersAndSkipsInstructionCaches) {
  FakeSysfs sys("caches_list");
  sys.add(0, "1", "Instruction", "32K", "0");  // listed first: must not be taken for L1d
  sys.add(1, "1", "Data", "32K", "0");
  sys.add(2, "2", "Unified", "2M", "0,2");
  sys.add(3, "3", "Unified", "12288K", "0,2,4");
  const CpuCaches c = mobilenet::kernels::cpu_caches_from_sysfs(sys.dir());
  EXPECT_EQ(c.l1d_bytes, 32 * 1024);
  EXPECT_EQ(c.l2_bytes, Index(2) << 20);
  EXPECT_EQ(c.l3_bytes, Index(12) << 20);
  EXPECT_EQ(c.l3_shared_by, 3);
  EXPECT_EQ(c.l3_share_bytes(), Index(4) << 20);
}

TEST(CpuCaches, CpuListCounts) {
  using mobilenet::kernels::detail::count_cpu_list;
  EXPECT_EQ(count_cpu_list("0-7"), 8);
  EXPECT_EQ(count_cpu_list("0,2,4"), 3);
  EXPECT_EQ(count_cpu_list("0-3,8-11"), 8);
  EXPECT_EQ(count_cpu_list(""), 1);
}

TEST(CpuCaches, MissingSysfsGivesZerosWithoutThrowing) {
  CpuCaches c;
  EXPECT_NO_THROW(c = mobilenet::kernels::cpu_caches_from_sysfs("/nonexistent/mobilenet/cache"));
  EXPECT_EQ(c.l1d_bytes, 0);
  EXPECT_EQ(c.l2_bytes, 0);
  EXPECT_EQ(c.l3_bytes, 0);
  EXPECT_STREQ(c.source, "default");
}

#if MOBILENET_X86_DISPATCH
TEST(CpuCaches, CpuidFindsCachesAndAgreesWithSysfs) {
  const CpuCaches c = mobilenet::kernels::cpu_caches_from_cpuid();
  EXPECT_STREQ(c.source, "cpuid");
  EXPECT_GT(c.l1d_bytes, 0);
  EXPECT_GT(c.l2_bytes, 0);
  const CpuCaches s = mobilenet::kernels::cpu_caches_from_sysfs();
  if (s.l2_bytes == 0) GTEST_SKIP() << "no cache sizes in /sys/devices/system/cpu/cpu0/cache";
  EXPECT_EQ(c.l2_bytes, s.l2_bytes);
}
#endif

TEST(CpuCaches, DetectedSizesAreNeverZero) {
  const CpuCaches& c = mobilenet::kernels::cpu_caches();
  EXPECT_GT(c.l1d_bytes, 0);
  EXPECT_GT(c.l2_bytes, 0);
  EXPECT_GT(c.l3_bytes, 0);
  EXPECT_GE(c.l3_shared_by, 1);
  EXPECT_GT(c.l3_share_bytes(), 0);
  std::printf("caches (%s): L1d %lld KiB, L2 %lld KiB, L3 %lld KiB shared by %d\n", c.source,
              static_cast<long long>(c.l1d_bytes >> 10), static_cast<long long>(c.l2_bytes >> 10),
              static_cast<long long>(c.l3_bytes >> 10), c.l3_shared_by);
}

}  // namespace
