// SPDX-License-Identifier: MIT
// Labels files (io/labels.hpp): both ImageNet forms fit both model forms, and a wrong count
// is reported with the file and the numbers.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "error_matchers.hpp"
#include "mobilenet/io/labels.hpp"
#include "shared_data.hpp"

namespace mobilenet {
namespace {

// "background\nclass1\n...classN\n" (with background) or "class1\n...classN\n".
std::string numbered_labels(int classes, bool background) {
  std::string text = background ? "background\n" : "";
  for (int i = 1; i <= classes; ++i) text += "class" + std::to_string(i) + "\n";
  return text;
}

TEST(Labels, SameCountIsTakenAsIs) {
  const auto labels = io::parse_labels("cat\ndog\r\nbird", "three.txt", 3);
  EXPECT_EQ(labels, (std::vector<std::string>{"cat", "dog", "bird"}));
}

TEST(Labels, FileWithBackgroundFitsAThousandClassModel) {
  const auto labels = io::parse_labels(numbered_labels(1000, true), "labels.txt", 1000);
  ASSERT_EQ(labels.size(), 1000u);
  EXPECT_EQ(labels[0], "class1");  // class i is line i + 1
  EXPECT_EQ(labels[999], "class1000");
}

TEST(Labels, FileWithoutBackgroundFitsABackgroundModel) {
  const auto labels = io::parse_labels(numbered_labels(1000, false), "labels.txt", 1001);
  ASSERT_EQ(labels.size(), 1001u);
  EXPECT_EQ(labels[0], "background");
  EXPECT_EQ(labels[1], "class1");
  EXPECT_EQ(labels[1000], "class1000");
}

TEST(Labels, TrailingBlankLinesAreIgnored) {
  const auto labels = io::parse_labels(numbered_labels(1000, true) + "\n\r\n  \n", "l.txt", 1001);
  ASSERT_EQ(labels.size(), 1001u);
  EXPECT_EQ(labels[1000], "class1000");
}

TEST(Labels, WrongCountNamesFileAndCounts) {
  EXPECT_THROW_MESSAGE(io::parse_labels(numbered_labels(998, false), "short.txt", 1000),
                       FormatError, {"short.txt", "has 998 labels", "expected 1000", "1001"});
  EXPECT_THROW_MESSAGE(io::parse_labels("", "empty.txt", 1000), FormatError,
                       {"empty.txt", "has 0 labels"});
}

TEST(Labels, ByteOrderMarkIsNotPartOfTheFirstLabel) {
  const auto labels = io::parse_labels("\xEF\xBB\xBF" "cat\r\ndog\r\n", "bom.txt", 2);
  EXPECT_EQ(labels, (std::vector<std::string>{"cat", "dog"}));
  // ...nor does it hide a first line "background".
  const auto dropped = io::parse_labels("\xEF\xBB\xBF" + numbered_labels(3, true), "bom.txt", 3);
  EXPECT_EQ(dropped.front(), "class1");
}

TEST(Labels, BackgroundFirstFileOneLineShortIsRefusedNotShifted) {
  // 999 classes after "background": a line is missing, and adding another "background"
  // would name every output after it wrongly.
  EXPECT_THROW_MESSAGE(io::parse_labels(numbered_labels(999, true), "short.txt", 1001), FormatError,
                       {"short.txt", "has 1000 labels for a model of 1001 classes", "'background'",
                        "is a line missing?"});
  // "Background" in another case, with a CR, is still recognised.
  EXPECT_THROW_MESSAGE(io::parse_labels("Background\r\nclass1\r\n", "case.txt", 3), FormatError,
                       {"case.txt", "is a line missing?"});
}

TEST(Labels, ExtraFirstLineIsDroppedOnlyWhenItIsBackground) {
  EXPECT_THROW_MESSAGE(io::parse_labels("tench\n" + numbered_labels(1000, false), "extra.txt", 1000),
                       FormatError, {"extra.txt", "has 1001 labels", "first line is 'tench'", "is a line extra?"});
}

TEST(Labels, EmptyLineBeforeTheLastLabelIsRefused) {
  EXPECT_THROW_MESSAGE(io::parse_labels("cat\n\ndog\n", "gap.txt", 3), FormatError,
                       {"gap.txt", "line 2 is empty"});
  EXPECT_THROW_MESSAGE(io::parse_labels("cat\r\n \r\ndog\r\nbird\r\n", "gap.txt", 3), FormatError,
                       {"gap.txt", "line 2 is empty"});
  EXPECT_THROW_MESSAGE(io::parse_labels("\ncat\ndog\n", "lead.txt", 2), FormatError, {"lead.txt", "line 1 is empty"});
}

TEST(Labels, BinaryOrNonUtf8TextIsRefused) {
  EXPECT_THROW_MESSAGE(io::parse_labels(std::string("cat\ndo\0g\n", 9), "nul.txt", 2), FormatError,
                       {"nul.txt", "line 2 holds a NUL byte"});
  EXPECT_THROW_MESSAGE(io::parse_labels("cat\ndog\n\xE9t\xE9\n", "latin1.txt", 3), FormatError,
                       {"latin1.txt", "line 3 is not valid UTF-8"});
  EXPECT_THROW_MESSAGE(io::parse_labels("\xC0\xAF\n", "overlong.txt", 1), FormatError, {"line 1 is not valid UTF-8"});
  EXPECT_THROW_MESSAGE(io::parse_labels("\xED\xA0\x80\n", "surrogate.txt", 1), FormatError, {"not valid UTF-8"});
  EXPECT_THROW_MESSAGE(io::parse_labels("caf\xC3", "cut.txt", 1), FormatError, {"not valid UTF-8"});
  EXPECT_THROW_MESSAGE(io::parse_labels(std::string("\xFF\xFE" "c\0a\0t\0", 8), "utf16.txt", 1), FormatError,
                       {"utf16.txt", "UTF-16"});
  // Valid UTF-8 of every length is kept as it is.
  const auto labels = io::parse_labels("caf\xC3\xA9\n\xE7\x8C\xAB\n\xF0\x9F\x90\x88\n", "utf8.txt", 3);
  EXPECT_EQ(labels, (std::vector<std::string>{"caf\xC3\xA9", "\xE7\x8C\xAB", "\xF0\x9F\x90\x88"}));
}

TEST(Labels, LoadsFromFile) {
  const std::string path = ::testing::TempDir() + "/labels_1001.txt";
  std::ofstream(path) << numbered_labels(1000, true);
  const auto labels = io::load_labels(path, 1000);
  EXPECT_EQ(labels.front(), "class1");
  std::remove(path.c_str());
  EXPECT_THROW_MESSAGE(io::load_labels(path, 1000), IoError, {path.c_str(), "cannot open"});
  EXPECT_THROW_MESSAGE(io::load_labels(::testing::TempDir(), 1000), IoError, {"is a directory"});
}

TEST(Labels, RealImageNetLabelsWhenPresent) {
  const std::string path = testing::shared_data_file("labels/imagenet_labels_1001.txt");
  if (path.empty())
    GTEST_SKIP() << "no labels/imagenet_labels_1001.txt in " << testing::shared_data_dir()
                 << " (set MOBILENET_DATA_DIR)";
  const auto with_background = io::load_labels(path, 1001);
  EXPECT_EQ(with_background[0], "background");
  EXPECT_EQ(with_background[934], "cheeseburger");
  const auto without = io::load_labels(path, 1000);
  EXPECT_EQ(without[933], "cheeseburger");
}

}  // namespace
}  // namespace mobilenet
