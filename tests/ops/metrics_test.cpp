// The metrics registry renders valid Prometheus text: types, help, label escaping, histogram
// buckets that are cumulative and agree with _count, and it refuses names that break the rules.
#include "io/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace bcast::io {
namespace {

TEST(MetricsRegistry, RendersCountersAndGaugesWithHelpAndType) {
  MetricsRegistry registry;
  registry.counter("x_sent_total", "Things sent.", {{"kind", "a"}}).increment(3);
  registry.gauge("x_depth", "Depth.").set(2.5);
  EXPECT_EQ(registry.render(),
            "# HELP x_depth Depth.\n"
            "# TYPE x_depth gauge\n"
            "x_depth 2.5\n"
            "# HELP x_sent_total Things sent.\n"
            "# TYPE x_sent_total counter\n"
            "x_sent_total{kind=\"a\"} 3\n");
}

TEST(MetricsRegistry, SameNameAndLabelsIsTheSameInstrument) {
  MetricsRegistry registry;
  Counter& a = registry.counter("y_total", "Y.", {{"b", "2"}, {"a", "1"}});
  Counter& b = registry.counter("y_total", "Y.", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(&a, &b);
  Counter& other = registry.counter("y_total", "Y.", {{"a", "1"}, {"b", "3"}});
  EXPECT_NE(&a, &other);
  a.increment();
  EXPECT_NE(registry.render().find("y_total{a=\"1\",b=\"2\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.gauge("z", "Line one\nback\\slash", {{"group", "a\"b\\c\nd"}}).set(1);
  const std::string text = registry.render();
  EXPECT_NE(text.find("# HELP z Line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("z{group=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry registry;
  Histogram& h = registry.histogram("h_seconds", "H.", {0.1, 1});
  h.observe(0.1);  // le is inclusive: the 0.1 bucket
  h.observe(0.5);
  h.observe(7.0);  // only +Inf
  EXPECT_EQ(registry.render(),
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.1\"} 1\n"
            "h_seconds_bucket{le=\"1\"} 2\n"
            "h_seconds_bucket{le=\"+Inf\"} 3\n"
            "h_seconds_sum 7.6\n"
            "h_seconds_count 3\n");
}

TEST(MetricsRegistry, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  Counter& c = registry.counter("c_total", "C.");
  Histogram& h = registry.histogram("d_seconds", "D.", latency_buckets_seconds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.increment();
        h.observe(0.001);
      }
    });
  }
  // A render while others write must not crash or tear (TSan checks the rest).
  const std::string during = registry.render();
  EXPECT_NE(during.find("c_total"), std::string::npos);
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.cumulative_counts().back(), 40000u);
}

using MetricsRegistryDeathTest = ::testing::Test;

TEST(MetricsRegistryDeathTest, RefusesNamesThatBreakTheRules) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.counter("sent", "No _total."), "ends in _total");
  EXPECT_DEATH(registry.gauge("1bad", "Digit first."), "invalid metric name");
  EXPECT_DEATH(registry.gauge("g", "G.", {{"le", "1"}}), "invalid label name");
  EXPECT_DEATH(registry.histogram("h", "H.", {1, 0.5}), "strictly increasing");
  registry.gauge("twice_total", "Once.");
  EXPECT_DEATH(registry.counter("twice_total", "Once."), "another type");
  EXPECT_DEATH(registry.gauge("twice_total", "Other help."), "another type or help");
}

}  // namespace
}  // namespace bcast::io
