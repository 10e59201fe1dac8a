#pragma once
// Where a result goes, written so that nothing the user owns is lost (docs/cli.md, "Files").
//
// A regular file (or a path that does not exist yet) is never opened for writing: the document
// goes to a temporary file beside it, created before the run (so an unwritable folder fails
// early), and renamed over the target only by commit(), after the run succeeded. On a failure,
// a signal or an exception the temporary file is removed and the target is untouched; two runs
// writing the same path each rename a complete document, so the last one wins and the file is
// always one valid document. The replaced file's permissions are kept.
//
// Anything else that exists (a character device such as /dev/null, a FIFO, a socket) has no
// content to lose: it is opened only once the run succeeded, written directly and never removed.
// A directory, or the spec file itself, is refused before the run.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "runner_error.hpp"

namespace dlogp::runner {

namespace detail {

/// Temporary files, and folders the run created, to remove when a signal ends the program. A
/// signal handler may only call async-signal-safe functions, so the paths live in fixed
/// buffers and are published by a counter written after the buffer.
struct pending_files {
  static constexpr int capacity = 16;  // --output, the --arrays files (9 at most) and folder
  char paths[capacity][PATH_MAX + 1] = {};
  volatile sig_atomic_t used[capacity] = {};
  volatile sig_atomic_t folder[capacity] = {};  ///< removed (if empty) after the files
  volatile sig_atomic_t announce = 1;           ///< print the [dlogp.signal] line
};
inline pending_files& pending() {
  static pending_files p;
  return p;
}

/// `folder`: a folder the run created, removed by a signal only when it is empty by then.
inline int register_pending(const std::string& path, bool folder = false) {
  pending_files& p = pending();
  if (path.size() > PATH_MAX) return -1;
  for (int i = 0; i < pending_files::capacity; ++i)
    if (!p.used[i]) {
      std::memcpy(p.paths[i], path.c_str(), path.size() + 1);
      p.folder[i] = folder ? 1 : 0;
      p.used[i] = 1;
      return i;
    }
  return -1;
}
inline void unregister_pending(int slot) {
  if (slot >= 0) pending().used[slot] = 0;
}

inline const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    default: return "a signal";
  }
}

extern "C" inline void on_terminating_signal(int sig) {
  pending_files& p = pending();
  for (int i = 0; i < pending_files::capacity; ++i)
    if (p.used[i] && !p.folder[i]) ::unlink(p.paths[i]);
  for (int i = 0; i < pending_files::capacity; ++i)
    if (p.used[i] && p.folder[i]) ::rmdir(p.paths[i]);  // fails, harmlessly, unless empty
  if (p.announce) {
    const char* name = signal_name(sig);
    const char head[] = "\n[dlogp.signal] ";
    const char tail[] = ": run interrupted; no result was written\n";
    (void)!::write(STDERR_FILENO, head, sizeof head - 1);
    (void)!::write(STDERR_FILENO, name, std::strlen(name));
    (void)!::write(STDERR_FILENO, tail, sizeof tail - 1);
  }
  // Die of the same signal, so the parent (a shell, make, a job scheduler) sees it: 128 + N.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

inline std::string errno_text(int e) { return std::strerror(e); }

inline std::optional<struct stat> stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

}  // namespace detail

/// Installs the handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT that remove pending temporary
/// files, print one [dlogp.signal] line and end the program by the same signal. For programs
/// (dlogp-run, dlogp-run-mpi), not for the in-process tests.
/// A file-size limit (ulimit -f) becomes a write error (EFBIG) that commit() reports, instead of
/// SIGXFSZ killing the program with its temporary file left behind. `announce` false: no line
/// (dlogp-run-mpi's other ranks, which mpiexec terminates when rank 0 has already reported).
inline void remove_partial_files_on_signals(bool announce = true) {
  detail::pending().announce = announce ? 1 : 0;
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    struct sigaction sa {};
    sa.sa_handler = &detail::on_terminating_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
  ::signal(SIGXFSZ, SIG_IGN);
}

/// Once the program has said how it ends (its result written or its error line printed), a
/// terminating signal has nothing to add: pending files are still removed, but no
/// [dlogp.signal] line claims an interruption. dlogp-run-mpi: mpiexec terminates the other
/// ranks as soon as one exits with a non-zero status, which can reach rank 0 after it has
/// reported.
inline void stop_announcing_signals() { detail::pending().announce = 0; }

/// True when a and b name the same existing file.
inline bool same_file(const std::string& a, const std::string& b) {
  const auto sa = detail::stat_of(a), sb = detail::stat_of(b);
  return sa && sb && sa->st_dev == sb->st_dev && sa->st_ino == sb->st_ino;
}

/// One output file given on the command line (`option` names it in errors: "--output").
class output_file {
 public:
  /// Checks the target and, for a regular file, creates the temporary file beside it. Throws
  /// cli_error (exit 2) when the target cannot be written; touches nothing the user owns.
  output_file(std::string path, std::string option) : path_(std::move(path)), option_(std::move(option)) {
    if (const auto st = detail::stat_of(path_)) {
      if (S_ISDIR(st->st_mode)) fail("\"" + path_ + "\" is a directory");
      if (!S_ISREG(st->st_mode)) {
        direct_ = true;  // a device, FIFO or socket: nothing to lose, nothing to rename over
        return;
      }
      keep_mode_ = st->st_mode & 07777;
      keep_owner_ = *st;
    }
    // Through a symbolic link, the file it names is replaced, not the link.
    if (char* real = ::realpath(path_.c_str(), nullptr)) {
      target_ = real;
      std::free(real);
    } else {
      target_ = path_;
    }
    const auto slash = target_.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : target_.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? target_ : target_.substr(slash + 1);
    std::string pattern = (slash == std::string::npos ? std::string() : folder) + "." + base + ".dlogp-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0)
      fail("cannot write \"" + path_ + "\" (no file can be created in \"" + folder + "\": " +
           detail::errno_text(errno) + ")");
    ::close(fd);
    temp_ = pattern;
    slot_ = detail::register_pending(temp_);
    stream_ = std::make_unique<std::ofstream>(temp_, std::ios::binary | std::ios::trunc);
    if (!*stream_) {
      discard();
      fail("cannot write \"" + path_ + "\"");
    }
  }
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  ~output_file() { discard(); }

  const std::string& path() const { return path_; }

  /// The stream to write the document to, once the run has succeeded.
  std::ostream& stream() {
    if (!stream_) {  // a direct target is opened only now
      stream_ = std::make_unique<std::ofstream>(path_, std::ios::binary | std::ios::app);
      if (!*stream_) fail("cannot write \"" + path_ + "\"");
    }
    return *stream_;
  }

  /// Makes the written document the target's content. Throws cli_error when writing failed
  /// (disk full, device error); the target is then as it was before the run.
  void commit() {
    std::ostream& os = stream();
    os.flush();
    if (!os) fail_write(errno);
    stream_->close();
    if (stream_->fail()) fail_write(errno);
    if (direct_) return;
    if (keep_mode_) {
      ::chmod(temp_.c_str(), *keep_mode_);
      if (::geteuid() == 0) (void)!::chown(temp_.c_str(), keep_owner_.st_uid, keep_owner_.st_gid);
    } else {
      const mode_t mask = ::umask(0);
      ::umask(mask);
      ::chmod(temp_.c_str(), 0666 & ~mask);
    }
    if (const int fd = ::open(temp_.c_str(), O_RDONLY); fd >= 0) {  // on disk before it replaces
      ::fsync(fd);
      ::close(fd);
    }
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail_write(errno);
    detail::unregister_pending(slot_);
    temp_.clear();
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw cli_error(option_, message); }
  [[noreturn]] void fail_write(int e) {
    discard();
    fail("error while writing \"" + path_ + "\"" + (e ? ": " + detail::errno_text(e) : std::string()) +
         (direct_ ? "" : "; the file was left as it was"));
  }
  /// Removes the temporary file (ours); the target is never touched here.
  void discard() {
    stream_.reset();
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
      temp_.clear();
    }
    detail::unregister_pending(slot_);
    slot_ = -1;
  }

  std::string path_, option_, target_, temp_;
  bool direct_ = false;
  std::optional<mode_t> keep_mode_;
  struct stat keep_owner_ {};
  int slot_ = -1;
  std::unique_ptr<std::ofstream> stream_;
};

}  // namespace dlogp::runner
