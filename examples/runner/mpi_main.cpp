// dlogp-run-mpi: dlogp-run with the spec's trajectories sharded over MPI ranks (docs/cli.md,
// "Several machines"). Every rank parses the same spec (rank 0 reads it and broadcasts the
// text), runs the contiguous block of trajectories it owns, and rank 0 writes the one document.
// Noise is keyed by the global trajectory index, so the document is byte-identical to
// dlogp-run's apart from summary.seconds. Same options and exit statuses as dlogp-run; no
// progress bar. The "objective" method is refused: its summary pools every point.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <dlogp/run/app.hpp>

namespace dlogp::runner::mpi {

struct world {
  int rank = 0, size = 1;
  bool root() const { return rank == 0; }
};

/// Rank r owns trajectories [first(r), first(r + 1)): blocks of n / size, the first n % size
/// ranks one more, so rank 0 always has one (its summary fields are the document's).
inline long shard_first(long n, int size, int r) {
  const long q = n / size, extra = n % size;
  return long(r) * q + std::min<long>(r, extra);
}

// MPI counts are ints: large buffers travel in pieces.
inline constexpr std::size_t piece = std::size_t(1) << 30;

inline void send_bytes(const void* data, std::size_t bytes, int to) {
  std::uint64_t n = bytes;
  MPI_Send(&n, 1, MPI_UINT64_T, to, 0, MPI_COMM_WORLD);
  for (std::size_t at = 0; at < bytes; at += piece)
    MPI_Send(static_cast<const char*>(data) + at, int(std::min(piece, bytes - at)), MPI_BYTE, to, 0, MPI_COMM_WORLD);
}

inline std::vector<char> recv_bytes(int from) {
  std::uint64_t n = 0;
  MPI_Recv(&n, 1, MPI_UINT64_T, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::vector<char> buf(n);
  for (std::size_t at = 0; at < n; at += piece)
    MPI_Recv(buf.data() + at, int(std::min<std::size_t>(piece, n - at)), MPI_BYTE, from, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
  return buf;
}

inline std::string broadcast(std::string s) {
  std::uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  s.resize(n);
  for (std::size_t at = 0; at < n; at += piece)
    MPI_Bcast(s.data() + at, int(std::min<std::size_t>(piece, n - at)), MPI_CHAR, 0, MPI_COMM_WORLD);
  return s;
}

inline int broadcast(int v, int from = 0) {
  MPI_Bcast(&v, 1, MPI_INT, from, MPI_COMM_WORLD);
  return v;
}

/// What the summary needs of each trajectory, packed to travel to rank 0.
struct summary_rows {
  std::vector<double> logp, logp_exact;
  std::vector<long long> status, score_evals;
};

inline summary_rows rows_of(const run_output& r) {
  summary_rows s;
  for (long j = 0; j < r.size(); ++j) {
    s.logp.push_back(r.logp(j));
    s.logp_exact.push_back(r.logp_exact(j));
    s.status.push_back((long long)r.stats[std::size_t(j)].status);
    s.score_evals.push_back((long long)r.stats[std::size_t(j)].score_evals);
  }
  return s;
}

template <class T>
void send_vector(const std::vector<T>& v, int to) {
  send_bytes(v.data(), v.size() * sizeof(T), to);
}

template <class T>
void append_received(std::vector<T>& v, int from) {
  const std::vector<char> b = recv_bytes(from);
  const std::size_t n = b.size() / sizeof(T), at = v.size();
  v.resize(at + n);
  std::copy(b.begin(), b.end(), reinterpret_cast<char*>(v.data() + at));
}

/// The whole program on every rank; every rank returns the same exit status.
inline int run(const std::vector<std::string>& args, const world& w) {
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;
  auto report = [&](const failure& f) {  // a failure every rank saw alike: rank 0 says it once
    if (w.root()) err << f.line << "\n";
    return f.code;
  };

  cli_options opt;
  if (const failure f = catch_input_errors([&] {
        opt = parse_arguments(args);
        if (!opt.arrays.empty())
          throw cli_error("--arrays", "not available in dlogp-run-mpi yet; run dlogp-run, or read the JSON results");
      }))
    return report(f);
  if (w.root() ? answer_query(opt, out) : (opt.help || opt.version || opt.schema)) return exit_ok;

  // Only rank 0 has stdin; it reads the spec and every rank parses the same text.
  std::string text;
  failure read;
  if (w.root()) read = catch_input_errors([&] { text = read_spec_text(opt.spec, std::cin); });
  read.code = broadcast(read.code);
  if (read) return report(read);
  text = broadcast(std::move(text));

  run_spec spec;
  if (const failure f = catch_input_errors([&] {
        spec = parse_spec(text, current_build(), default_memory_limit(), spec_folder(opt.spec));
        if (spec.method->name == "objective")
          throw spec_error("/method", "\"objective\" pools every point in its summary and is not sharded; "
                                      "run it with dlogp-run");
      }))
    return report(f);
  if (opt.check) {
    if (w.root()) out << spec.filled.dump(2) << "\n";
    return exit_ok;
  }

  // Rank 0 writes the document: its target is checked (and its temporary file made) now, and
  // replaced only after every rank succeeded (output_file.hpp).
  std::unique_ptr<output_file> file;
  failure opened;
  if (w.root()) opened = catch_input_errors([&] { file = open_output(opt); });
  opened.code = broadcast(opened.code);
  if (opened) {
    if (w.root()) err << opened.line << "\n";
    return opened.code;
  }

  // Run this rank's shard. A failure anywhere: the lowest failing rank reports it, all stop.
  const long first = shard_first(spec.n, w.size, w.rank);
  const long count = shard_first(spec.n, w.size, w.rank + 1) - first;
  const double t0 = MPI_Wtime();
  run_result res;
  failure f;
  if (count > 0) f = catch_run_errors([&] { res = execute(spec, opt.threads, nullptr, first, count); });
  int culprit = f ? w.rank : w.size;
  MPI_Allreduce(MPI_IN_PLACE, &culprit, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (culprit < w.size) {
    const int code = broadcast(f.code, culprit);
    if (w.rank == culprit) err << f.line << "\n";
    return code;  // rank 0's output_file removes its temporary file; the target is untouched
  }

  // Gather: rank 0 streams every shard's result lines in rank order, then the summary.
  std::ostringstream mine;
  write_results(mine, res.output, res.recorder.get(), first == 0);
  const summary_rows rows = rows_of(res.output);
  int code = exit_ok;
  if (!w.root()) {
    send_bytes(mine.str().data(), mine.str().size(), 0);
    send_vector(rows.logp, 0);
    send_vector(rows.logp_exact, 0);
    send_vector(rows.status, 0);
    send_vector(rows.score_evals, 0);
  } else {
    // Shards are streamed as they arrive: into the temporary file when there is an --output, so
    // a failure still leaves the target as it was.
    summary_rows all = rows;
    int received = 1;  // ranks whose shard has been received
    run_output whole;  // what summary_json reads: per-trajectory rows and rank 0's method fields
    if (const failure wf = deliver(file.get(), out, [&](std::ostream& dest) {
          write_head(dest, spec);
          dest << mine.str();
          for (int r = 1; r < w.size; ++r) {
            const std::vector<char> chunk = recv_bytes(r);
            dest.write(chunk.data(), std::streamsize(chunk.size()));
            append_received(all.logp, r);
            append_received(all.logp_exact, r);
            append_received(all.status, r);
            append_received(all.score_evals, r);
            received = r + 1;
          }
          whole.logp = Eigen::Map<const vector<double>>(all.logp.data(), long(all.logp.size()));
          whole.logp_exact = Eigen::Map<const vector<double>>(all.logp_exact.data(), long(all.logp_exact.size()));
          for (std::size_t j = 0; j < all.status.size(); ++j) {
            trajectory_stats st;
            st.status = static_cast<status>(all.status[j]);
            st.score_evals = static_cast<decltype(st.score_evals)>(all.score_evals[j]);
            whole.stats.push_back(st);
          }
          whole.summary_extra = res.output.summary_extra;
          whole.bin_width = res.output.bin_width;
          whole.x.resize(res.output.x.rows(), 0);  // the dimension, for bits per dimension
          write_tail(dest, whole.size(), summary_json(whole, MPI_Wtime() - t0));
        })) {
      err << wf.line << "\n";
      code = wf.code;
      for (int r = received; r < w.size; ++r)  // the other ranks are sending: take it, so none waits
        for (int piece_of_shard = 0; piece_of_shard < 5; ++piece_of_shard) (void)recv_bytes(r);
    } else {
      code = whole.all_ok() ? exit_ok : exit_not_ok;
    }
  }
  return broadcast(code);
}

}  // namespace dlogp::runner::mpi

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  dlogp::runner::mpi::world w;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  std::ios::sync_with_stdio(false);
  dlogp::runner::remove_partial_files_on_signals(/*announce=*/w.root());
  const int code = dlogp::runner::mpi::run(std::vector<std::string>(argv + 1, argv + argc), w);
  // Rank 0 has reported; no rank exits (and makes mpiexec terminate the others with a non-zero
  // status) before rank 0 stops announcing signals: its "run interrupted" line would follow
  // its own error line or a written result (seen as a second error line in the MPI test).
  dlogp::runner::stop_announcing_signals();
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return code;
}
