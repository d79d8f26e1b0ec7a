// Driver for bench_packaging.sh:
//   bench_packaging generate DIR [--files N] [--bytes B] [--big N] [--seed S]
//       a reproducible tree: about half the bytes text-like (compressible), half random
//   bench_packaging zip DIR OUT.zip [--level L] [--threads T]
//       write_zip of every file under DIR; prints the wall time in seconds on stdout
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "artifact/archive.hpp"
#include "util/fs.hpp"

namespace fs = std::filesystem;
using namespace cicd;

namespace {

struct Args {
  std::vector<std::string> positional;
  uint64_t files = 20000;
  uint64_t bytes = uint64_t{300} << 20;
  uint64_t big = 2;  // files above the whole-file limit, to include the chunked path
  uint64_t seed = 42;
  int level = 6;
  unsigned threads = 0;
};

int usage() {
  std::fprintf(stderr,
               "usage: bench_packaging generate DIR [--files N] [--bytes B] [--big N] [--seed S]\n"
               "       bench_packaging zip DIR OUT.zip [--level L] [--threads T]\n");
  return 2;
}

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto number = [&](uint64_t& out) {
      if (i + 1 >= argc) return false;
      out = std::strtoull(argv[++i], nullptr, 10);
      return true;
    };
    uint64_t value = 0;
    if (arg == "--files") {
      if (!number(args.files)) return false;
    } else if (arg == "--bytes") {
      if (!number(args.bytes)) return false;
    } else if (arg == "--big") {
      if (!number(args.big)) return false;
    } else if (arg == "--seed") {
      if (!number(args.seed)) return false;
    } else if (arg == "--level") {
      if (!number(value)) return false;
      args.level = static_cast<int>(value);
    } else if (arg == "--threads") {
      if (!number(value)) return false;
      args.threads = static_cast<unsigned>(value);
    } else {
      args.positional.push_back(arg);
    }
  }
  return true;
}

// Text that compresses roughly like source code and logs do (3-5x), not like a repeated string.
void fill_text(std::mt19937_64& rng, std::string& out, size_t size) {
  static const std::vector<std::string> k_words = {
      "return", "const", "static", "int", "void", "std::string", "if", "else", "for", "while", "auto",
      "namespace", "include", "build", "deploy", "artifact", "pipeline", "error", "warning", "info",
      "2024-05-01T12:00:00Z", "user", "request", "response", "status", "200", "404", "value", "config",
      "= ", "{", "}", "(", ");", "->", "::", "//", "#", "0x", "true", "false", "nullptr", "size_t"};
  out.clear();
  out.reserve(size + 64);
  std::uniform_int_distribution<size_t> pick(0, k_words.size() - 1);
  std::uniform_int_distribution<int> digit(0, 9999);
  std::uniform_int_distribution<int> line(4, 14);
  while (out.size() < size) {
    int words = line(rng);
    out.append(static_cast<size_t>(words % 4) * 2, ' ');
    for (int w = 0; w < words; ++w) {
      out += k_words[pick(rng)];
      if (w % 5 == 4) out += std::to_string(digit(rng));
      out += ' ';
    }
    out += '\n';
  }
  out.resize(size);
}

void fill_random(std::mt19937_64& rng, std::string& out, size_t size) {
  out.resize((size + 7) / 8 * 8);
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  out.resize(size);
}

int generate(const Args& args) {
  fs::path root = args.positional.at(1);
  std::mt19937_64 rng(args.seed);
  // A mix of sizes: many small files, fewer medium ones, a few large ones, scaled to the total.
  std::vector<uint64_t> sizes(args.files);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double total = 0;
  uint64_t big = std::min(args.big, args.files);
  uint64_t big_size = uint64_t{24} << 20;
  for (uint64_t i = 0; i < args.files; ++i) {
    double r = unit(rng), s = unit(rng);
    double size = r < 0.60 ? 200 + s * 8000 : r < 0.95 ? 8192 + s * 24576 : 32768 + s * 229376;
    sizes[i] = static_cast<uint64_t>(size);
    if (i >= big) total += size;
  }
  double remaining = static_cast<double>(args.bytes) - static_cast<double>(big * big_size);
  double scale = remaining > 0 ? remaining / total : 1.0;
  for (uint64_t i = 0; i < args.files; ++i) sizes[i] = i < big ? big_size : static_cast<uint64_t>(static_cast<double>(sizes[i]) * scale);

  std::string content;
  uint64_t written = 0;
  for (uint64_t i = 0; i < args.files; ++i) {
    bool text = i < big ? i % 2 == 0 : unit(rng) < 0.5;
    fs::path path = root / fmt::format("d{:02}", i % 20) / fmt::format("s{:03}", (i / 20) % 50) /
                    fmt::format("f{:05}.{}", i, text ? "txt" : "bin");
    if (text)
      fill_text(rng, content, sizes[i]);
    else
      fill_random(rng, content, sizes[i]);
    if (auto st = write_file_atomic(path, content, {.mode = 0644, .sync = false}); !st) {
      std::fprintf(stderr, "bench_packaging: %s\n", st.error().message.c_str());
      return 1;
    }
    written += sizes[i];
  }
  std::fprintf(stderr, "generated %llu files, %.1f MB in %s\n", static_cast<unsigned long long>(args.files),
               static_cast<double>(written) / 1e6, root.c_str());
  return 0;
}

int zip(const Args& args) {
  fs::path root = args.positional.at(1);
  fs::path out = args.positional.at(2);
  std::vector<ArchiveEntry> entries;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && !it->is_symlink()) continue;
    entries.push_back({it->path().lexically_relative(root).generic_string(), it->path(), true});
  }
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name < b.name; });
  auto start = std::chrono::steady_clock::now();
  auto result = write_zip(entries, out, {.level = args.level, .threads = args.threads});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    std::fprintf(stderr, "bench_packaging: %s\n", result.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "cicd zip: %zu entries, %.1f MB in, %.1f MB out\n", entries.size(),
               static_cast<double>(result->manifest.total_size()) / 1e6,
               static_cast<double>(result->archive_size) / 1e6);
  std::printf("%.3f\n", seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args) || args.positional.empty()) return usage();
  if (args.positional[0] == "generate" && args.positional.size() == 2) return generate(args);
  if (args.positional[0] == "zip" && args.positional.size() == 3) return zip(args);
  return usage();
}
