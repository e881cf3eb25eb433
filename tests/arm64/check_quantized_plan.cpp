// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the 8-bit plan on the generic and NEON kernels (and NEON's dot product when built with it)
// against the integer reference on random models of both weight schemes, 1 and 2 threads,
// batch 1 and 2, and on the small int8 file against real TFLite's output in tests/golden/data.
// No GoogleTest. Exit status 0 when every byte agrees.
//   check_quantized_plan GOLDEN_DIR [--expect-dotprod]

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../int8_tflite_model.hpp"
#include "../quantized_models.hpp"
#include "mobilenet/io/file.hpp"
#include "mobilenet/model/quantized_reference.hpp"
#include "mobilenet/quantized_plan.hpp"

int main(int argc, char** argv) {
  using namespace mobilenet;
  if (argc < 2) {
    std::fprintf(stderr, "usage: check_quantized_plan GOLDEN_DIR [--expect-dotprod]\n");
    return 2;
  }
  const bool expect_dotprod = argc > 2 && std::strcmp(argv[2], "--expect-dotprod") == 0;
  if (expect_dotprod != kernels::int8_isa_supported(kernels::Int8Isa::NeonDot)) {
    std::printf("FAIL the dot product path is %s\n", expect_dotprod ? "missing" : "unexpected");
    return 1;
  }
  std::size_t runs = 0, failures = 0;
  auto check = [&](const QuantizedMobileNetV1& m, const std::vector<std::uint8_t>& images, Index batch,
                   const std::vector<std::uint8_t>& want, const char* what) {
    for (kernels::Isa family : {kernels::Isa::Generic, kernels::Isa::Neon})
      for (int threads : {1, 2}) {
        QuantizedPlan plan(m, PlanOptions().with_batch(batch).with_threads(threads).with_isa(family));
        ++runs;
        if (plan.run(images) != want) {
          ++failures;
          std::printf("FAIL %s on %s, %d threads, batch %ld\n", what, kernels::int8_isa_name(plan.isa()), threads,
                      static_cast<long>(batch));
        }
      }
  };
  for (testing::WeightScheme scheme : {testing::WeightScheme::PerTensorUInt8, testing::WeightScheme::PerChannelInt8}) {
    testing::RandomQuantizedOptions o;
    o.scheme = scheme, o.resolution = 45;
    const QuantizedMobileNetV1 m = testing::random_quantized_mobilenet(o);
    std::mt19937 rng(9);
    std::vector<std::uint8_t> images(static_cast<std::size_t>(2 * m.input_size()));
    for (auto& v : images) v = static_cast<std::uint8_t>(rng() >> 24);
    check(m, images, 2, run_quantized_reference(m, images, 2), quant_type_name(m.io_type));
  }
  const QuantizedMobileNetV1 small =
      io::load_tflite_quantized(tflite_test::serialize(tflite_test::small_int8_mobilenet()), "int8_small").model;
  check(small, tflite_test::golden_random_input(static_cast<std::size_t>(small.input_size())), 1,
        io::read_file(std::string(argv[1]) + "/int8_small__random__output.i8.bin", 1u << 20, "golden"),
        "int8 file against TFLite");
  std::printf("8-bit plan on ARM64 (%s): %zu runs, %zu failures\n",
              kernels::int8_isa_name(kernels::best_int8_isa()), runs, failures);
  return failures == 0 ? 0 : 1;
}
