// SPDX-License-Identifier: MIT
#pragma once
// EXPECT_THROW_MESSAGE(statement, Type, {"part", ...}): the statement throws Type and the
// message contains every part, so a test shows what the user would read.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#define EXPECT_THROW_MESSAGE(statement, Type, ...)                                              \
  do {                                                                                          \
    bool mobilenet_thrown = false;                                                              \
    try {                                                                                       \
      statement;                                                                                \
    } catch (const Type& mobilenet_error) {                                                     \
      mobilenet_thrown = true;                                                                  \
      const std::string mobilenet_message = mobilenet_error.what();                            \
      for (const std::string mobilenet_part : std::initializer_list<const char*> __VA_ARGS__) \
        EXPECT_NE(mobilenet_message.find(mobilenet_part), std::string::npos)                   \
            << "message \"" << mobilenet_message << "\" lacks \"" << mobilenet_part << "\"";   \
    }                                                                                           \
    EXPECT_TRUE(mobilenet_thrown) << #statement " did not throw " #Type;                        \
  } while (0)
