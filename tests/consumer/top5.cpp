#include <mobilenet/classifier.hpp>
#include <cstdio>

int main(int argc, char** argv) {  // top5 MODEL IMAGE
  if (argc != 3) return std::fprintf(stderr, "usage: top5 MODEL IMAGE\n"), 2;
  mobilenet::Classifier classifier(argv[1]);  // .tflite or .safetensors: labels, size, preprocessing
  for (const mobilenet::Prediction& p : classifier.classify(argv[2], 5))
    std::printf("%5lld  %.4f  %s\n", static_cast<long long>(p.index), p.probability, p.label.c_str());
}
