// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the execution plan on NEON and generic kernels (im2col stem, fused depthwise + GEMM bands,
// guided work sharing on 1 and 2 threads, image-by-image early blocks at batch 3) against the
// reference path, model.predict. No GoogleTest, because it is not built for ARM here.
// Exit status 0 when every case agrees.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

int main() {
  using namespace mobilenet;
  struct Case {
    const char* name;
    MobileNetV1Config config;
    Index batch;
  };
  MobileNetV1Config symmetric = MobileNetV1Config::tf_slim(0.25, 67);
  symmetric.padding = Padding::symmetric(1);
  symmetric.activation = Activation::ReLU;
  const Case cases[] = {{"0.25/64", MobileNetV1Config::tf_slim(0.25, 64), 1},
                        {"0.25/67 symmetric relu", symmetric, 2},
                        {"0.5/224 (early blocks image by image)", MobileNetV1Config::tf_slim(0.5, 224), 3}};
  std::size_t runs = 0, failures = 0;
  for (const Case& c : cases) {
    MobileNetV1<float> model(c.config);
    model.randomize(3);
    Tensor<float> images(model.input_shape(c.batch));
    std::srand(5);
    images.set_random();
    const Tensor<float> want = model.predict(images);
    double scale = 1.0;
    for (Index i = 0; i < want.size(); ++i) scale = std::max(scale, double(std::fabs(want.data()[i])));
    for (kernels::Isa isa : {kernels::Isa::Generic, kernels::Isa::Neon}) {
      if (!kernels::isa_supported(isa)) continue;
      for (int threads : {1, 2}) {
        Plan plan(model, {c.batch, threads, isa});
        const Tensor<float> got = plan.predict(images);
        double worst = 0;
        for (Index i = 0; i < got.size(); ++i)
          worst = std::max(worst, std::fabs(double(got.data()[i]) - double(want.data()[i])));
        ++runs;
        if (!(worst <= 1e-4 * scale)) {
          ++failures;
          std::printf("FAIL plan %s, %s, %d threads: max |difference| %g\n", c.name, kernels::isa_name(isa),
                      threads, worst);
        }
      }
    }
  }
  std::printf("plan on ARM64: %zu runs against model.predict, %zu failures\n", runs, failures);
  return failures == 0 && runs == 12 ? 0 : 1;
}
