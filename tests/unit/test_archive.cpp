#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "artifact/archive.hpp"
#include "artifact/archive_internal.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/hash.hpp"

using namespace cicd;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xFF);
  return out;
}

// Compresses about 3x, like logs.
std::string text_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out;
  out.reserve(size + 64);
  for (uint64_t line = 0; out.size() < size; ++line)
    out += fmt::format("{:08} INFO request {} took {} ms status {}\n", line, rng() % 100000, rng() % 1000,
                       rng() % 2 ? 200 : 404);
  out.resize(size);
  return out;
}

// What a directory tree holds: type, permission bits and content (a symlink's target).
struct Node {
  char type = 'f';
  unsigned mode = 0;
  std::string content;
  bool operator==(const Node&) const = default;
};

// One line per node, so a mismatch shows which entry differs.
std::string describe(const std::map<std::string, Node>& nodes) {
  std::string out;
  for (const auto& [path, node] : nodes)
    out += fmt::format("{} {} {:04o} {}B {}\n", path, node.type, node.mode, node.content.size(),
                       sha256_hex(node.content).substr(0, 12));
  return out;
}

std::map<std::string, Node> snapshot(const fs::path& root) {
  std::map<std::string, Node> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    REQUIRE(::lstat(it->path().c_str(), &st) == 0);
    std::string rel = it->path().lexically_relative(root).generic_string();
    if (S_ISDIR(st.st_mode)) continue;
    if (S_ISLNK(st.st_mode))
      out[rel] = {'l', 0, fs::read_symlink(it->path()).string()};
    else
      out[rel] = {'f', static_cast<unsigned>(st.st_mode) & 07777, unwrap(read_file(it->path()))};
  }
  return out;
}

std::string sum_of(const std::string& tool, const fs::path& path) {
  auto r = test::run({tool, path.string()});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find(' '));
}

size_t count_lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

bool dir_is_empty_or_absent(const fs::path& dir) { return !fs::exists(dir) || fs::is_empty(dir); }

// A small tree with every kind of entry, and the entries that package it.
struct Sample {
  fs::path src;
  std::vector<ArchiveEntry> entries;
  std::map<std::string, Node> expected;  // what unpacking must produce
};

Sample make_sample(const test::Scratch& dir) {
  Sample s;
  s.src = dir / "src";
  std::string text = text_bytes(200'000, 1);
  std::string random = random_bytes(100'000, 2);
  dir.write("src/text.txt", text);
  dir.write("src/random.bin", random);
  dir.write("src/empty", "");
  dir.write("src/bin/tool.sh", "#!/bin/sh\necho hi\n", 0755);
  dir.write("src/deep/a/b/c.txt", "deep\n", 0600);
  fs::create_symlink("../text.txt", s.src / "bin/link");
  s.entries = {
      {"text.txt", s.src / "text.txt"},
      {"random.bin", s.src / "random.bin"},
      {"empty", s.src / "empty"},
      {"bin/tool.sh", s.src / "bin/tool.sh"},
      {"deep/a/b/c.txt", s.src / "deep/a/b/c.txt"},
      {"bin/link", s.src / "bin/link", true},
      {"followed.txt", s.src / "bin/link", false},  // the link followed: its target's content
  };
  s.expected = {
      {"text.txt", {'f', 0644, text}},
      {"random.bin", {'f', 0644, random}},
      {"empty", {'f', 0644, ""}},
      {"bin/tool.sh", {'f', 0755, "#!/bin/sh\necho hi\n"}},
      {"deep/a/b/c.txt", {'f', 0600, "deep\n"}},
      {"bin/link", {'l', 0, "../text.txt"}},
      {"followed.txt", {'f', 0644, text}},
  };
  return s;
}

std::string method_of(const std::string& listing, const std::string& name) {
  // `unzip -v` columns: Length Method Size Cmpr Date Time CRC-32 Name
  size_t start = 0;
  while (start < listing.size()) {
    size_t end = listing.find('\n', start);
    if (end == std::string::npos) end = listing.size();
    std::string line = listing.substr(start, end - start);
    if (line.size() > name.size() && line.ends_with(" " + name)) {
      auto first = line.find_first_not_of(' ');
      auto after_length = line.find(' ', first);
      auto method_start = line.find_first_not_of(' ', after_length);
      return line.substr(method_start, line.find(' ', method_start) - method_start);
    }
    start = end + 1;
  }
  return "";
}

}  // namespace

TEST_CASE("zip: round trip through the system unzip keeps bytes, modes and symlinks", "[artifact][zip]") {
  test::require_programs({"unzip", "sha256sum", "md5sum"});
  test::Scratch dir;
  Sample s = make_sample(dir);
  auto zip = dir / "out/a.zip";
  auto result = write_zip(s.entries, zip);
  REQUIRE(result);

  auto test_run = test::run({"unzip", "-t", "-qq", zip.string()});
  INFO(test_run.out << test_run.err);
  CHECK(test_run.exit_code == 0);
  auto unpack = test::run({"unzip", "-q", zip.string(), "-d", (dir / "x").string()});
  REQUIRE(unpack.exit_code == 0);
  CHECK(describe(snapshot(dir / "x")) == describe(s.expected));

  // Incompressible and empty content is stored, text deflated.
  auto listing = test::run({"unzip", "-v", zip.string()}).out;
  CHECK(method_of(listing, "random.bin") == "Stored");
  CHECK(method_of(listing, "empty") == "Stored");
  CHECK(method_of(listing, "text.txt") == "Defl:N");

  // The manifest: one entry per file in order, sha256 as sha256sum computes it.
  REQUIRE(result->manifest.entries.size() == s.entries.size());
  for (size_t i = 0; i < s.entries.size(); ++i) {
    const auto& m = result->manifest.entries[i];
    CHECK(m.path == s.entries[i].name);
    if (m.symlink) {
      CHECK(m.sha256 == sha256_hex("../text.txt"));
      CHECK(m.size == 11);
    } else {
      CHECK(m.sha256 == sum_of("sha256sum", s.entries[i].source));
      CHECK(m.size == fs::file_size(s.entries[i].source));
    }
  }
  CHECK(result->manifest.entries[3].mode == 0755);
  CHECK(result->manifest.entries[5].symlink);
  CHECK(result->archive_size == fs::file_size(zip));
  CHECK(result->archive_sha256 == sum_of("sha256sum", zip));
  CHECK(result->archive_md5 == sum_of("md5sum", zip));

  // The extended timestamp field carries the exact modification time.
  auto mtime = [](const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mtime;
  };
  CHECK(mtime(dir / "x/text.txt") == mtime(s.src / "text.txt"));

  // No temporary file left beside the archive.
  CHECK(std::distance(fs::directory_iterator(dir / "out"), fs::directory_iterator()) == 1);
}

TEST_CASE("zip: directories are stored as entries of their own, outside the manifest", "[artifact][zip]") {
  test::require_programs({"unzip"});
  test::Scratch dir;
  dir.write("src/d/f.txt", "f\n");
  fs::create_directories(dir / "src/empty");
  fs::permissions(dir / "src/empty", fs::perms(0750));
  auto zip = dir / "dirs.zip";
  auto result = write_zip({{"empty", dir / "src/empty"}, {"d/f.txt", dir / "src/d/f.txt"}}, zip);
  REQUIRE(result);
  REQUIRE(result->manifest.entries.size() == 1);
  CHECK(result->manifest.entries[0].path == "d/f.txt");
  CHECK(test::run({"unzip", "-Z1", zip.string()}).out == "empty/\nd/f.txt\n");
  REQUIRE(test::run({"unzip", "-q", zip.string(), "-d", (dir / "x").string()}).exit_code == 0);
  CHECK(fs::is_directory(dir / "x/empty"));
  CHECK((fs::status(dir / "x/empty").permissions() & fs::perms::all) == fs::perms(0750));
  auto extracted = extract_archive(zip, dir / "y");
  REQUIRE(extracted);
  CHECK(fs::is_directory(dir / "y/empty"));
  CHECK(extracted->entries.size() == 1);
}

TEST_CASE("zip: an empty list makes an empty archive", "[artifact][zip]") {
  test::Scratch dir;
  auto result = write_zip({}, dir / "empty.zip");
  REQUIRE(result);
  CHECK(result->archive_size == 22);  // just the end of central directory record
  CHECK(result->manifest.entries.empty());
  CHECK(dir.read("empty.zip").starts_with("PK\x05\x06"));
}

TEST_CASE("zip: our extractor reads our zips, ZIP64 fields or not", "[artifact][zip]") {
  test::Scratch dir;
  Sample s = make_sample(dir);
  for (bool force : {false, true}) {
    INFO("force_zip64 " << force);
    auto zip = dir / fmt::format("a{}.zip", force);
    auto written = write_zip(s.entries, zip, {.force_zip64 = force});
    REQUIRE(written);
    auto dest = dir / fmt::format("x{}", force);
    auto extracted = extract_archive(zip, dest);
    REQUIRE(extracted);
    CHECK(describe(snapshot(dest)) == describe(s.expected));
    CHECK(manifest_to_json((*extracted)) == manifest_to_json(written->manifest));
  }
}

TEST_CASE("zip: the same input gives the same bytes whatever the thread count", "[artifact][zip]") {
  test::Scratch dir;
  Sample s = make_sample(dir);
  auto one = write_zip(s.entries, dir / "one.zip", {.threads = 1});
  auto four = write_zip(s.entries, dir / "four.zip", {.threads = 4});
  REQUIRE(one);
  REQUIRE(four);
  CHECK(one->archive_sha256 == four->archive_sha256);
}

TEST_CASE("zip: level 0 stores every entry", "[artifact][zip]") {
  test::require_programs({"unzip"});
  test::Scratch dir;
  Sample s = make_sample(dir);
  auto zip = dir / "stored.zip";
  REQUIRE(write_zip(s.entries, zip, {.level = 0}));
  CHECK(test::run({"unzip", "-t", "-qq", zip.string()}).exit_code == 0);
  CHECK(method_of(test::run({"unzip", "-v", zip.string()}).out, "text.txt") == "Stored");
  CHECK_FALSE(write_zip(s.entries, zip, {.level = 13}));
}

TEST_CASE("zip: files above the whole-file limit are compressed in chunks", "[artifact][zip]") {
  test::require_programs({"unzip"});
  test::Scratch dir;
  // Chunks alternate text (deflated, made joinable) and random (stored blocks); the two files end
  // on a short chunk of either kind, so both ways of ending the stream are taken.
  const size_t chunk = static_cast<size_t>(artifact_detail::k_zip_chunk_size);
  const size_t chunks = static_cast<size_t>(artifact_detail::k_zip_whole_file_limit) / chunk + 1;
  auto make = [&](bool random_tail) {
    std::string content;
    for (size_t c = 0; c < chunks; ++c) content += c % 2 ? random_bytes(chunk, c) : text_bytes(chunk, c);
    content += random_tail ? random_bytes(12345, 99) : text_bytes(12345, 99);
    return content;
  };
  std::map<std::string, std::string> contents = {{"big-random-tail.bin", make(true)}, {"big-text-tail.log", make(false)}};
  std::vector<ArchiveEntry> entries = {{"small.txt", dir.write("src/small.txt", "small\n")}};
  for (const auto& [name, content] : contents) entries.push_back({name, dir.write("src/" + name, content, 0640)});

  for (bool force : {false, true}) {
    INFO("force_zip64 " << force);
    auto zip = dir / fmt::format("big{}.zip", force);
    auto result = write_zip(entries, zip, {.force_zip64 = force});
    REQUIRE(result);
    CHECK(result->archive_size < 2 * contents.begin()->second.size() * 3 / 4);  // the text did compress
    REQUIRE(result->manifest.entries.size() == 3);
    auto check = test::run({"unzip", "-t", "-qq", zip.string()});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
    auto dest = dir / fmt::format("x{}", force);
    REQUIRE(test::run({"unzip", "-q", zip.string(), "-d", dest.string()}).exit_code == 0);
    for (size_t i = 1; i < 3; ++i) {
      const auto& m = result->manifest.entries[i];
      INFO(m.path);
      CHECK(m.sha256 == sha256_hex(contents.at(m.path)));
      CHECK(m.size == contents.at(m.path).size());
      CHECK(unwrap(sha256_file(dest / m.path)) == m.sha256);
      struct stat st {};
      REQUIRE(::stat((dest / m.path).c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0640);
    }
    auto extracted = extract_archive(zip, dir / fmt::format("e{}", force));
    REQUIRE(extracted);
    CHECK(manifest_to_json(*extracted) == manifest_to_json(result->manifest));
  }
}

TEST_CASE("zip: joined deflate streams of libdeflate chunks inflate to the joined input", "[artifact][zip]") {
  std::vector<std::string> pieces = {
      text_bytes(300'000, 1),                      // dynamic Huffman blocks
      "a",                                         // tiny: a fixed Huffman block
      random_bytes(70'000, 2),                     // libdeflate falls back to stored blocks
      std::string(100'000, 'z'),                   // long matches
      text_bytes(5'000, 3) + random_bytes(5'000, 4),
      "",                                          // nothing at all
  };
  for (int level : {1, 6, 12}) {
    INFO("level " << level);
    auto* compressor = libdeflate_alloc_compressor(level);
    REQUIRE(compressor);
    std::string joined, expected;
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string stream(libdeflate_deflate_compress_bound(compressor, pieces[i].size()), '\0');
      stream.resize(libdeflate_deflate_compress(compressor, pieces[i].data(), pieces[i].size(), stream.data(),
                                                stream.size()));
      REQUIRE(artifact_detail::make_deflate_joinable(stream));
      joined += stream;
      expected += pieces[i];
    }
    artifact_detail::append_stored_blocks(joined, "end", true);
    expected += "end";
    libdeflate_free_compressor(compressor);
    auto* decompressor = libdeflate_alloc_decompressor();
    std::string out(expected.size(), '\0');
    auto rc = libdeflate_deflate_decompress(decompressor, joined.data(), joined.size(), out.data(), out.size(), nullptr);
    libdeflate_free_decompressor(decompressor);
    CHECK(rc == LIBDEFLATE_SUCCESS);
    CHECK(out == expected);
  }
  std::string garbage = "not deflate at all";
  CHECK_FALSE(artifact_detail::make_deflate_joinable(garbage));
}

TEST_CASE("zip: only random-looking data is judged incompressible", "[artifact][zip]") {
  CHECK(artifact_detail::looks_incompressible(random_bytes(5'000, 1)));
  CHECK(artifact_detail::looks_incompressible(random_bytes(1'000'000, 2)));
  CHECK_FALSE(artifact_detail::looks_incompressible(random_bytes(1'000, 3)));  // too short to judge
  CHECK_FALSE(artifact_detail::looks_incompressible(text_bytes(100'000, 4)));
  CHECK_FALSE(artifact_detail::looks_incompressible(random_bytes(500'000, 5) + text_bytes(500'000, 6)));
  std::string hex;
  for (char c : random_bytes(50'000, 7)) hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
  CHECK_FALSE(artifact_detail::looks_incompressible(hex));
}

TEST_CASE("zip: more than 65535 entries get ZIP64 end records", "[artifact][zip]") {
  test::require_programs({"unzip"});
  test::Scratch dir;
  // ZIP64 for sizes and offsets past 4 GiB would take minutes of I/O here; the entry count takes
  // the same ZIP64 end-record path in a second, and force_zip64 covers the per-entry fields.
  dir.write("src/tiny", "tiny\n");
  const size_t count = 70'000;
  std::vector<ArchiveEntry> entries;
  entries.reserve(count);
  for (size_t i = 0; i < count; ++i) entries.push_back({fmt::format("d{:02}/f{:05}", i % 50, i), dir / "src/tiny"});
  auto zip = dir / "many.zip";
  auto result = write_zip(entries, zip);
  REQUIRE(result);
  CHECK(result->manifest.entries.size() == count);
  auto check = test::run({"unzip", "-t", "-qq", zip.string()});
  INFO(check.err);
  CHECK(check.exit_code == 0);
  CHECK(count_lines(test::run({"unzip", "-Z1", zip.string()}).out) == count);
  std::string bytes = unwrap(read_file(zip));
  CHECK(bytes.find(std::string("PK\x06\x06", 4)) != std::string::npos);  // ZIP64 end of central directory
}

TEST_CASE("zip: an unreadable source fails and leaves no output behind", "[artifact][zip]") {
  test::Scratch dir;
  Sample s = make_sample(dir);
  auto zip = dir / "out/a.zip";
  unwrap(write_file_atomic(zip, "previous archive", {.sync = false}));
  if (::geteuid() == 0) {
    // root reads through any mode; /proc/self/mem is a regular file that fails to read at offset 0.
    s.entries.push_back({"mem", "/proc/self/mem"});
  } else {
    dir.write("src/secret", "no", 0000);
    s.entries.push_back({"secret", dir / "src/secret"});
  }
  auto result = write_zip(s.entries, zip);
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::io);
  CHECK(dir.read("out/a.zip") == "previous archive");
  CHECK(std::distance(fs::directory_iterator(dir / "out"), fs::directory_iterator()) == 1);

  // A missing source is caught before any output exists.
  s.entries.back() = {"missing", dir / "src/missing"};
  auto missing = write_zip(s.entries, dir / "out2/b.zip");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(dir_is_empty_or_absent(dir / "out2"));
}

TEST_CASE("zip: unsafe and duplicate entry names are refused", "[artifact][zip]") {
  test::Scratch dir;
  dir.write("f", "x");
  for (std::string name : {"../evil", "/abs", "a/../../b", "a/../b", "", "a//b", "./a", "a/", "a/."}) {
    INFO(name);
    auto result = write_zip({{name, dir / "f"}}, dir / "out/x.zip");
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::invalid);
    CHECK(result.error().message == fmt::format("unsafe archive entry name '{}'", name));
    CHECK_FALSE(write_tar({{name, dir / "f"}}, dir / "out/x.tar"));
    CHECK_FALSE(copy_entries({{name, dir / "f"}}, dir / "copy"));
  }
  auto dup = write_zip({{"a", dir / "f"}, {"a", dir / "f"}}, dir / "out/x.zip");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().kind == ErrorKind::invalid);
  CHECK(dup.error().message == "duplicate archive entry name 'a'");
  CHECK(dir_is_empty_or_absent(dir / "out"));
}

TEST_CASE("tar: round trip through extract_archive, plain and gzip", "[artifact][tar]") {
  test::require_programs({"tar"});
  test::Scratch dir;
  Sample s = make_sample(dir);
  auto zip_manifest = unwrap(write_zip(s.entries, dir / "ref.zip")).manifest;
  for (auto compression : {TarCompression::none, TarCompression::gzip}) {
    bool gz = compression == TarCompression::gzip;
    INFO("gzip " << gz);
    auto tar = dir / (gz ? "a.tar.gz" : "a.tar");
    REQUIRE(write_tar(s.entries, tar, compression));
    auto listing = test::run({"tar", gz ? "-tzf" : "-tf", tar.string()});
    CHECK(listing.exit_code == 0);
    CHECK(count_lines(listing.out) == s.entries.size());
    auto dest = dir / (gz ? "xgz" : "xtar");
    auto extracted = extract_archive(tar, dest);
    REQUIRE(extracted);
    CHECK(describe(snapshot(dest)) == describe(s.expected));
    CHECK(manifest_to_json((*extracted)) == manifest_to_json(zip_manifest));
  }
}

TEST_CASE("tar: the SHA-256 computed while writing is the file's", "[artifact][tar]") {
  test::Scratch dir;
  Sample s = make_sample(dir);
  // And with a file bigger than a block, so that chunks reach the hasher in several sizes.
  std::string big(3u << 20, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>(rng());
  dir.write("src/big.bin", big);
  s.entries.push_back({"big.bin", dir / "src/big.bin"});
  for (auto compression : {TarCompression::none, TarCompression::gzip}) {
    auto tar = dir / (compression == TarCompression::gzip ? "h.tar.gz" : "h.tar");
    std::string sha;
    REQUIRE(write_tar(s.entries, tar, compression, TarDurability::no_sync, &sha));
    CHECK(sha.size() == 64);
    CHECK(sha == unwrap(sha256_file(tar)));
  }
}

TEST_CASE("extract: a zip made by the system zip", "[artifact][extract]") {
  test::require_programs({"zip"});
  test::Scratch dir;
  Sample s = make_sample(dir);
  s.expected.erase("followed.txt");
  auto zip = dir / "sys.zip";
  auto made = test::run({"zip", "-r", "-q", "-y", zip.string(), "."}, s.src);
  REQUIRE(made.exit_code == 0);
  auto extracted = extract_archive(zip, dir / "x");
  REQUIRE(extracted);
  CHECK(describe(snapshot(dir / "x")) == describe(s.expected));
  REQUIRE((*extracted).entries.size() == s.expected.size());
  for (const auto& entry : (*extracted).entries) {
    INFO(entry.path);
    const Node& node = s.expected.at(entry.path);
    CHECK(entry.symlink == (node.type == 'l'));
    CHECK(entry.sha256 == sha256_hex(node.content));
    CHECK(entry.size == node.content.size());
    if (!entry.symlink) CHECK(entry.mode == node.mode);
  }
}

TEST_CASE("extract: archives that would write outside the destination are refused", "[artifact][extract]") {
  struct Case {
    std::string what;
    std::string file;
    std::string script;
    std::string entry;  // named in the error
  };
  std::vector<Case> cases = {
      {"tar with ../", "a.tar", R"(with tarfile.open(out, "w") as t: tar_file(t, "ok.txt"); tar_file(t, "../evil"))",
       "../evil"},
      {"tar with an absolute path", "b.tar",
       R"(with tarfile.open(out, "w") as t: tar_file(t, "ok.txt"); tar_file(t, "/abs/evil"))", "/abs/evil"},
      {"tar.gz with ../ deeper down", "c.tar.gz",
       R"(with tarfile.open(out, "w:gz") as t: tar_file(t, "a/b.txt"); tar_file(t, "a/../../evil"))",
       "a/../../evil"},
      {"symlink to an absolute path", "d.tar",
       R"(with tarfile.open(out, "w") as t: tar_link(t, "link", "/etc"); tar_file(t, "link/evil"))", "link"},
      {"symlink climbing out", "e.tar",
       R"(with tarfile.open(out, "w") as t: tar_file(t, "sub/ok"); tar_link(t, "sub/link", "../../outside"))",
       "sub/link"},
      {"symlink climbing out through a sibling link", "f.tar",
       R"(with tarfile.open(out, "w") as t: tar_link(t, "b", "."); tar_link(t, "a", "b/../.."))", "a"},
      {"file written through an extracted symlink", "g.tar",
       R"(with tarfile.open(out, "w") as t: tar_file(t, "sub/ok"); tar_link(t, "sub/link", ".."); tar_file(t, "sub/link/evil"))",
       "sub/link/evil"},
      {"hard link to an outside file", "h.tar",
       R"(with tarfile.open(out, "w") as t: tar_link(t, "h", "/etc/passwd", tarfile.LNKTYPE))", "h"},
      {"zip with ../", "i.zip",
       R"(with zipfile.ZipFile(out, "w") as z: z.writestr("ok.txt", "x"); z.writestr("../evil", "y"))", "../evil"},
      {"zip with an absolute path", "j.zip", R"(with zipfile.ZipFile(out, "w") as z: z.writestr("/abs/evil", "y"))",
       "/abs/evil"},
      {"zip with a symlink pointing out", "k.zip",
       R"(with zipfile.ZipFile(out, "w") as z: zip_link(z, "link", "../../../etc"); z.writestr("link/evil", "y"))",
       "link"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    test::Scratch dir;
    auto archive = dir / c.file;
    test::craft_archive(c.script, archive);
    auto dest = dir / "dest";
    auto result = extract_archive(archive, dest);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::invalid);
    CHECK_THAT(result.error().message, Catch::Contains("entry '" + c.entry + "'"));
    // Nothing outside, and the fresh destination is gone again.
    CHECK_FALSE(fs::exists(dir / "evil"));
    CHECK_FALSE(fs::exists(dir / "outside"));
    CHECK_FALSE(fs::exists("/abs/evil"));
    CHECK(dir_is_empty_or_absent(dest));
  }
}

TEST_CASE("extract: an existing empty destination is left empty after a refusal", "[artifact][extract]") {
  test::Scratch dir;
  test::craft_archive(R"(with tarfile.open(out, "w") as t: tar_file(t, "a/ok.txt"); tar_file(t, "../evil"))",
                      dir / "a.tar");
  fs::create_directory(dir / "dest");
  auto result = extract_archive(dir / "a.tar", dir / "dest");
  REQUIRE_FALSE(result);
  CHECK(fs::is_directory(dir / "dest"));
  CHECK(fs::is_empty(dir / "dest"));
}

TEST_CASE("extract: links that stay inside are fine", "[artifact][extract]") {
  test::Scratch dir;
  test::craft_archive(R"(
with tarfile.open(out, "w") as t:
    tar_file(t, "./", b"")
    tar_file(t, "./a/b/data.txt", b"data")
    tar_link(t, "./a/b/up", "../../a/b/data.txt")
    tar_link(t, "./a/hard", "a/b/data.txt", tarfile.LNKTYPE)
)",
                      dir / "ok.tar");
  // The first entry ("./", a file here) is the destination itself and skipped.
  auto result = extract_archive(dir / "ok.tar", dir / "x");
  REQUIRE(result);
  CHECK(dir.read("x/a/b/up") == "data");
  CHECK(dir.read("x/a/hard") == "data");
  REQUIRE(result->entries.size() == 3);
  CHECK(result->entries[2].path == "a/hard");
  CHECK(result->entries[2].sha256 == sha256_hex("data"));
}

TEST_CASE("extract: garbage and missing archives are errors", "[artifact][extract]") {
  test::Scratch dir;
  dir.write("junk.zip", "this is not an archive at all");
  auto junk = extract_archive(dir / "junk.zip", dir / "x");
  REQUIRE_FALSE(junk);
  CHECK(junk.error().kind == ErrorKind::invalid);
  CHECK_FALSE(fs::exists(dir / "x"));
  auto missing = extract_archive(dir / "nope.zip", dir / "y");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
}

TEST_CASE("copy_entries: packaging none copies files, modes and symlinks", "[artifact][copy]") {
  test::Scratch dir;
  Sample s = make_sample(dir);
  auto manifest = copy_entries(s.entries, dir / "out");
  REQUIRE(manifest);
  CHECK(describe(snapshot(dir / "out")) == describe(s.expected));
  auto zipped = unwrap(write_zip(s.entries, dir / "a.zip"));
  CHECK(manifest_to_json(*manifest) == manifest_to_json(zipped.manifest));
  // Copying again over the previous output replaces it.
  REQUIRE(copy_entries(s.entries, dir / "out"));
  CHECK(describe(snapshot(dir / "out")) == describe(s.expected));
}

TEST_CASE("copy_entries: never writes through a symlink entry", "[artifact][copy]") {
  test::Scratch dir;
  dir.write("src/f", "x");
  fs::create_directories(dir / "elsewhere");
  fs::create_symlink(dir / "elsewhere", dir / "src/link");
  auto result = copy_entries({{"link", dir / "src/link", true}, {"link/f", dir / "src/f"}}, dir / "out");
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK_THAT(result.error().message, Catch::Contains("symlink 'link'"));
  CHECK(fs::is_empty(dir / "elsewhere"));
}

TEST_CASE("manifest: JSON sorted by path with octal modes, and read back", "[artifact][manifest]") {
  Manifest m;
  m.entries.push_back({"z.txt", 3, sha256_hex("abc"), 0644, false});
  m.entries.push_back({"a/run.sh", 0, sha256_hex(""), 0755, false});
  m.entries.push_back({"a/link", 5, sha256_hex("z.txt"), 0777, true});
  CHECK(m.total_size() == 8);
  Json json = manifest_to_json(m);
  REQUIRE(json.size() == 3);
  CHECK(json[0]["path"] == "a/link");
  CHECK(json[0]["symlink"] == true);
  CHECK(json[1]["path"] == "a/run.sh");
  CHECK(json[1]["mode"] == "0755");
  CHECK(json[2]["size"] == 3);
  CHECK_FALSE(json[2].contains("symlink"));
  auto back = manifest_from_json(json);
  REQUIRE(back);
  CHECK(manifest_to_json(*back) == json);
  CHECK(back->entries[0].symlink);
  CHECK(back->entries[1].mode == 0755);

  auto bad = [](const char* text) { return manifest_from_json(Json::parse(text)); };
  CHECK_FALSE(bad(R"({"path": "x"})"));
  CHECK_FALSE(bad(R"([{"size": 1, "sha256": "00"}])"));
  CHECK_FALSE(bad(R"([{"path": "x", "size": -1, "sha256": "00"}])"));
  auto wrong_mode = bad(
      R"([{"path": "x", "size": 1, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "mode": "9"}])");
  REQUIRE_FALSE(wrong_mode);
  CHECK(wrong_mode.error().message == "invalid manifest: entry 0: 'mode' must be an octal string such as \"0644\"");
}

TEST_CASE("extract: the symlink rule every unpacker shares", "[artifact][extract]") {
  // Relative targets whose ".." come first and climb no higher than the link's own directory.
  CHECK(symlink_target_stays_inside("bin/tool", "../lib/tool"));
  CHECK(symlink_target_stays_inside("a/b/up", "../../a/b/data.txt"));
  CHECK(symlink_target_stays_inside("link", "data/x"));
  CHECK(symlink_target_stays_inside("link", "./x"));
  CHECK_FALSE(symlink_target_stays_inside("link", "/etc"));
  CHECK_FALSE(symlink_target_stays_inside("link", ""));
  CHECK_FALSE(symlink_target_stays_inside("link", ".."));
  CHECK_FALSE(symlink_target_stays_inside("bin/tool", "../../x"));
  CHECK_FALSE(symlink_target_stays_inside("a/link", "b/../../x"));  // ".." after a descent
  // The link's depth is that of its real components: "." and empty ones add nothing.
  CHECK_FALSE(symlink_target_stays_inside("a/./././link", "../../x"));
  CHECK_FALSE(symlink_target_stays_inside("a//link", "../../x"));
  CHECK(symlink_target_stays_inside("./a/link", "../x"));
  CHECK_FALSE(symlink_target_stays_inside("../link", "x"));
}
