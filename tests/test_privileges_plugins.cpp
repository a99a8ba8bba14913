// Plugins are code netloom runs with its own rights (root, for a capture):
// a plugin directory or file that others could have written to, or that
// another non-root user owns, is refused with one line naming it and the
// override, unless --allow-insecure-plugins.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::run;

namespace {
const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kPlugin = NETLOOM_HARDENING_PLUGIN;  // tests/plugins/test_blocks.cpp, built
const std::string kOverride = "; fix the permissions or pass --allow-insecure-plugins\n";

// Under the build tree (root- or user-owned, not writable by others), so
// the only insecure thing is what a test makes insecure.
struct PluginDir {
  fs::path base, dir, so;
  explicit PluginDir(fs::perms dir_mode = fs::perms(0755), fs::perms file_mode = fs::perms(0755)) {
    base = fs::path(NETLOOM_BUILD_ROOT) / "tests" /
           ("plugin-trust-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base);
    dir = base / "plugins";
    fs::create_directories(dir);
    fs::permissions(base, fs::perms(0755));
    so = dir / "test_blocks.so";
    fs::copy_file(kPlugin, so);
    fs::permissions(so, file_mode);
    fs::permissions(dir, dir_mode);
  }
  ~PluginDir() {
    std::error_code ec;
    fs::permissions(base, fs::perms(0755), ec);
    fs::remove_all(base, ec);
  }
};

std::string refused(const fs::path& what, bool dir, const std::string& why) {
  return "netloom: error: " + what.string() +
         (dir ? ": refusing to load plugins: " : ": refusing to load plugin: ") + why + kOverride;
}
}  // namespace

TEST(PluginTrust, PrivateDirectoryLoads) {
  PluginDir p;
  auto r = run({kBin, "inspect", "TestSource", "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("Plugin: " + p.so.string()), std::string::npos) << r.out;
}

TEST(PluginTrust, WorldWritableDirectoryIsRefusedUnlessAllowed) {
  PluginDir p(fs::perms(0777));
  auto r = run({kBin, "inspect", "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.dir, true, "the directory is writable by group and others (mode 0777)"));
  EXPECT_EQ(r.out, "");  // nothing listed: the command stops

  // The same refusal stops a run before anything is read.
  const fs::path rec = p.base / "rec.txt", comp = p.base / "c.xml";
  std::ofstream(comp) << "<composition name='t'><block id='s' type='TestSource'/>"
                         "<block id='k' type='TestSink'><param name='output' value='"
                      << rec.string() << "'/></block><connect from='s.out' to='k.in'/></composition>";
  r = run({kBin, "run", comp.string(), "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.dir, true, "the directory is writable by group and others (mode 0777)"));
  EXPECT_FALSE(fs::exists(rec));

  r = run({kBin, "run", comp.string(), "-q", "--plugin-path", p.dir.string(), "--allow-insecure-plugins"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(rec));
  r = run({kBin, "inspect", "TestSource", "--plugin-path", p.dir.string(), "--allow-insecure-plugins"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Plugin: " + p.so.string()), std::string::npos) << r.out;
}

TEST(PluginTrust, GroupWritableFileIsRefused) {
  PluginDir p(fs::perms(0755), fs::perms(0775));
  auto r = run({kBin, "inspect", "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.so, false, "the file is writable by group (mode 0775)"));
  // Named directly as a file, too.
  r = run({kBin, "check", "--plugin-path", p.so.string(), NETLOOM_SOURCE_ROOT "/compositions/count.xml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.so, false, "the file is writable by group (mode 0775)"));
}

TEST(PluginTrust, SymlinkToAWritableFileIsRefused) {
  PluginDir p(fs::perms(0755), fs::perms(0757));
  const fs::path link = p.base / "link.so";
  fs::create_symlink(p.so, link);
  auto r = run({kBin, "inspect", "--plugin-path", link.string()});
  EXPECT_EQ(r.status, 2);
  // The search path resolves links: the message names the file itself.
  EXPECT_EQ(r.err, refused(p.so, false, "the file is writable by others (mode 0757)"));
}

TEST(PluginTrust, WritableDirectoryAboveIsRefusedUnlessSticky) {
  PluginDir p;
  fs::permissions(p.base, fs::perms(0777));
  auto r = run({kBin, "inspect", "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.dir, true,
                           "the directory above it, " + p.base.string() +
                               ", is writable by group and others (mode 0777)"));
  // Sticky, like /tmp: others cannot rename or remove the plugin directory.
  fs::permissions(p.base, fs::perms(01777));
  r = run({kBin, "inspect", "TestSource", "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(PluginTrust, DirectoryOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the directory away";
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "no user 'nobody' here";
  PluginDir p;
  ASSERT_EQ(::chown(p.dir.c_str(), pw->pw_uid, pw->pw_gid), 0);
  auto r = run({kBin, "inspect", "--plugin-path", p.dir.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.dir, true,
                           "the directory is owned by uid " + std::to_string(pw->pw_uid) +
                               ", neither root nor the user netloom runs as (uid 0)"));
}

TEST(PluginTrust, EnvironmentPathIsCheckedToo) {
  PluginDir p(fs::perms(0775));
  ::setenv("NETLOOM_PLUGIN_PATH", p.dir.c_str(), 1);
  auto r = run({kBin, "inspect"});
  ::unsetenv("NETLOOM_PLUGIN_PATH");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, refused(p.dir, true, "the directory is writable by group (mode 0775)"));
}
