// SPDX-License-Identifier: MIT
// Builds a small MobileNetV1 through the public header and checks its shape arithmetic; with
// MOBILENET_EXPECTED_VERSION (from the CMake or pkg-config package), also that the headers'
// version is the package's.
#include <mobilenet/mobilenet.hpp>
#include <mobilenet/version.hpp>

#include <cstdio>
#include <cstring>

int main() {
#ifdef MOBILENET_EXPECTED_VERSION
  if (std::strcmp(mobilenet::kVersion, MOBILENET_EXPECTED_VERSION) != 0) {
    std::printf("consumer: headers say version %s, the package says %s\n", mobilenet::kVersion,
                MOBILENET_EXPECTED_VERSION);
    return 1;
  }
  std::printf("consumer: version %s\n", mobilenet::kVersion);
#endif
  mobilenet::MobileNetV1Config config;
  config.alpha = 0.25;
  config.resolution = 64;
  config.num_classes = 10;
  mobilenet::MobileNetV1<float> model(config);
  model.randomize(7);
  mobilenet::Tensor<float> image(model.input_shape(1), 0.5f);
  const mobilenet::Tensor<float> probabilities = model.predict(image);
  const float sum = probabilities.storage().sum();
  std::printf("consumer: %s, %lld parameters, probabilities sum to %.6f\n", model.name().c_str(),
              static_cast<long long>(model.parameter_count()), sum);
  return (probabilities.shape() == mobilenet::Shape(1, 1, 1, 10) && sum > 0.999f && sum < 1.001f) ? 0 : 1;
}
