#pragma once
// Progress on stderr: trajectories done, fraction of the work, rate and time left. Fed by a
// step observer (called concurrently from the integrator's threads, so only atomics here);
// drawn by a thread of its own a few times a second.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace dlogp::runner {

class progress_bar {
 public:
  /// `tty`: redraw one line with '\r'; otherwise print a plain line every few seconds.
  progress_bar(std::ostream& out, long trajectories, bool tty)
      : out_(out), n_(std::max(1L, trajectories)), tty_(tty), fraction_(std::size_t(n_), 0),
        start_(std::chrono::steady_clock::now()) {
    thread_ = std::thread([this] { loop(); });
  }
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;
  ~progress_bar() { abandon(); }

  /// Trajectory j has done `fraction` (0..1) of phase `phase` of `phases`. Only the thread that
  /// owns trajectory j calls this for j (the integrator's guarantee).
  void update(long j, int phase, int phases, double fraction, bool finished) {
    if (j < 0 || j >= n_) return;
    if (finished && phase + 1 == phases) return done(j);
    const double overall = std::clamp((phase + std::clamp(fraction, 0.0, 1.0)) / phases, 0.0, 1.0);
    const auto units = std::min(kUnit - 1, std::int32_t(std::lround(overall * kUnit)));
    std::int32_t& mine = fraction_[std::size_t(j)];
    if (units > mine) {
      work_.fetch_add(units - mine, std::memory_order_relaxed);
      mine = units;
    }
  }
  /// Marks trajectory j as done (its last step was seen, or it stopped early).
  void done(long j) {
    if (j < 0 || j >= n_) return;
    std::int32_t& mine = fraction_[std::size_t(j)];
    if (mine < kUnit) {
      work_.fetch_add(kUnit - mine, std::memory_order_relaxed);
      done_.fetch_add(1, std::memory_order_relaxed);
      mine = kUnit;
    }
  }

  /// Stops the drawing thread and prints the final state.
  void finish() {
    if (!stop()) return;
    for (long j = 0; j < n_; ++j) done(j);  // trajectories that stopped early without a last step
    draw(true);
    out_ << '\n' << std::flush;
  }

  /// Stops the drawing thread after a failed run: no final state, and on a terminal the bar is
  /// erased, so the error that follows is the only line left.
  void abandon() {
    if (!stop()) return;
    if (tty_) out_ << "\r\033[K" << std::flush;
  }

 private:
  static constexpr std::int32_t kUnit = 1 << 20;

  /// Stops the drawing thread; false when it was already stopped.
  bool stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return false;
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
    return true;
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto period = tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000);
    while (!cv_.wait_for(lock, period, [this] { return stopped_; })) draw(false);
  }

  static std::string clock(double s) {
    if (!std::isfinite(s) || s > 99 * 3600) return "--:--";
    const long t = long(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
  }

  void draw(bool final) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double work = double(work_.load(std::memory_order_relaxed)) / kUnit;  // trajectories
    const double frac = std::clamp(work / double(n_), 0.0, 1.0);
    const long done_count = done_.load(std::memory_order_relaxed);
    const double rate = elapsed > 0 ? work / elapsed : 0;
    const double left = frac > 0 ? elapsed * (1 - frac) / frac : NAN;
    const int width = 24, filled = int(frac * width);
    std::string bar(std::size_t(filled), '#');
    bar.resize(std::size_t(width), '.');
    char buf[256];
    char rate_text[32];
    std::snprintf(rate_text, sizeof rate_text, rate >= 100 ? "%.0f" : "%.3g", rate);
    std::snprintf(buf, sizeof buf, "dlogp-run [%s] %3d%%  %ld/%ld trajectories  %s/s  %s %s",
                  bar.c_str(), int(frac * 100), done_count, n_, rate_text,
                  final ? "took" : "left", final ? clock(elapsed).c_str() : clock(left).c_str());
    if (tty_) out_ << '\r' << buf << "\033[K" << std::flush;
    else if (!final) out_ << buf << '\n' << std::flush;
    else out_ << buf << std::flush;
  }

  std::ostream& out_;
  const long n_;
  const bool tty_;
  std::vector<std::int32_t> fraction_;  // per trajectory, in units of 1/kUnit
  std::atomic<std::int64_t> work_{0};
  std::atomic<long> done_{0};
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace dlogp::runner
