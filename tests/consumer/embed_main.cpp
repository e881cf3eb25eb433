// SPDX-License-Identifier: MIT
// An app with its model inside its binary (mobilenet_embed_model): the embedded bytes must be
// the file's (checked against the size the test passes), and load as the shipped model.
#include <mobilenet/io/model_file.hpp>
#include <mobilenet/mobilenet.hpp>
#include <mobilenet/plan.hpp>
#include <mobilenet_embedded/shipped_model.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  using mobilenet_embedded::shipped_model_data;
  using mobilenet_embedded::shipped_model_size;
  if (argc != 2 || std::strtoull(argv[1], nullptr, 10) != shipped_model_size) {
    std::printf("embed_consumer: embedded %zu bytes, the file has %s\n", shipped_model_size,
                argc == 2 ? argv[1] : "?");
    return 1;
  }
  if (reinterpret_cast<std::uintptr_t>(shipped_model_data) % 16 != 0) {
    std::printf("embed_consumer: the embedded bytes are not 16-byte aligned\n");
    return 1;
  }
  const mobilenet::io::LoadedModel loaded =
      mobilenet::io::load_model(shipped_model_data, shipped_model_size, "embedded model");
  const mobilenet::MobileNetV1Config& config = loaded.model.config();
  mobilenet::Plan plan(loaded.model, {1, 1});
  const mobilenet::Tensor<float> p = plan.predict(mobilenet::Tensor<float>(loaded.model.input_shape(1), 0.0f));
  const float sum = p.storage().sum();
  std::printf("embed_consumer: %s, alpha %g, resolution %lld, %lld classes, probabilities sum to %.4f\n",
              loaded.format.c_str(), config.alpha, static_cast<long long>(config.resolution),
              static_cast<long long>(config.num_classes), static_cast<double>(sum));
  const bool ok = loaded.format == "tflite-uint8" && config.alpha == 0.5 && config.resolution == 160 &&
                  config.num_classes == 1001 && sum > 0.99f && sum < 1.01f;
  return ok ? 0 : 1;
}
