#include <gtest/gtest.h>
TEST(Kube, Placeholder) {}
