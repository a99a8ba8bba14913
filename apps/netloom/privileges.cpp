#include "privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace netloom::app {
namespace {

std::optional<std::uint32_t> number(const std::string& s) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

[[noreturn]] void fail(const std::string& spec, const std::string& why) {
  throw std::runtime_error("--user " + spec + ": " + why);
}

[[noreturn]] void fail_call(const std::string& spec, const char* call) {
  fail(spec, std::string(call) + " failed: " + std::strerror(errno));
}

int last_capability() {
  int last = CAP_LAST_CAP;
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  if (int v = 0; f >> v) last = v;
  return last;
}

// Capability sets of the calling thread (capget/capset without libcap).
struct CapSets {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  bool any() const {
    for (const auto& d : data)
      if (d.effective || d.permitted || d.inheritable) return true;
    return false;
  }
};

// The supplementary groups: GROUP alone when given, else the user's own.
// glibc applies this to every thread of the process.
void set_groups(const TargetUser& u) {
  if (u.explicit_group || u.name.empty()) {
    if (::setgroups(1, &u.gid) != 0) fail_call(u.spec, "setgroups");
  } else if (::initgroups(u.name.c_str(), u.gid) != 0) {
    fail_call(u.spec, "initgroups");
  }
}

}  // namespace

TargetUser resolve_user(const std::string& spec) {
  TargetUser t;
  t.spec = spec;
  const auto colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (user.empty() || (colon != std::string::npos && group.empty())) fail(spec, "expected USER[:GROUP]");

  // Looked up now, while NSS still works (and before anything is opened).
  const passwd* pw = nullptr;
  if (auto id = number(user)) {
    t.uid = *id;
    pw = ::getpwuid(t.uid);
  } else {
    pw = ::getpwnam(user.c_str());
    if (pw == nullptr) fail(spec, "no such user");
    t.uid = pw->pw_uid;
  }
  if (pw != nullptr) t.name = pw->pw_name;

  if (!group.empty()) {
    t.explicit_group = true;
    const struct group* gr = nullptr;
    if (auto id = number(group)) {
      t.gid = *id;
      gr = ::getgrgid(t.gid);
    } else {
      gr = ::getgrnam(group.c_str());
      if (gr == nullptr) fail(spec, "no such group");
      t.gid = gr->gr_gid;
    }
    t.group = gr ? gr->gr_name : group;
  } else {
    if (pw == nullptr) fail(spec, "uid " + user + " has no passwd entry: name its group too (USER:GROUP)");
    t.gid = pw->pw_gid;
    const struct group* gr = ::getgrgid(t.gid);
    t.group = gr ? gr->gr_name : std::to_string(t.gid);
  }
  if (t.uid == 0) fail(spec, "the target user must not be root");
  if (t.gid == 0) fail(spec, "the target group must not be gid 0");
  if (::geteuid() != 0)
    fail(spec, "changing user needs root (netloom runs as uid " + std::to_string(::geteuid()) + ")");
  return t;
}

void assume_file_identity(const TargetUser& u) {
  set_groups(u);
  ::setfsgid(u.gid);
  ::setfsuid(u.uid);
  // Both calls return the previous id; asking for an impossible one (-1)
  // changes nothing and returns the current one.
  if (static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) != u.uid ||
      static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) != u.gid)
    fail(u.spec, "setfsuid/setfsgid did not take");
}

void drop_privileges(const TargetUser& u) {
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes
  // with the uid change. It is per thread, inherited by threads started
  // later (the sources' and the block workers'), and keeps an exec'd file
  // from regaining capabilities.
  const int last = last_capability();
  for (int cap = 0; cap <= last; ++cap)
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail_call(u.spec, "PR_CAPBSET_DROP");

  // Groups, then gid, then uid: each step needs the rights the next removes.
  // glibc applies these to every thread of the process.
  set_groups(u);
  if (::setresgid(u.gid, u.gid, u.gid) != 0) fail_call(u.spec, "setresgid");
  // Real, effective and saved uid all change: the kernel clears the
  // permitted, effective and ambient capability sets.
  if (::setresuid(u.uid, u.uid, u.uid) != 0) fail_call(u.spec, "setresuid");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    fail_call(u.spec, "PR_CAP_AMBIENT_CLEAR_ALL");
  CapSets none;  // clears the inheritable set too
  if (::syscall(SYS_capset, &none.header, none.data) != 0) fail_call(u.spec, "capset");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_call(u.spec, "PR_SET_NO_NEW_PRIVS");

  // Trust, but verify: no id left behind, no capability, no way back.
  uid_t ru = 0, eu = 0, su = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  ::getresuid(&ru, &eu, &su);
  ::getresgid(&rg, &eg, &sg);
  if (ru != u.uid || eu != u.uid || su != u.uid || rg != u.gid || eg != u.gid || sg != u.gid)
    fail(u.spec, "the ids did not change as asked");
  CapSets now;
  if (::syscall(SYS_capget, &now.header, now.data) != 0) fail_call(u.spec, "capget");
  if (now.any()) fail(u.spec, "capabilities are left after the change");
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0 || ::setegid(0) == 0)
    fail(u.spec, "root could be regained after the change");

  std::fprintf(stderr, "netloom: running as user %s, group %s (uid %u, gid %u)\n",
               u.name.empty() ? std::to_string(u.uid).c_str() : u.name.c_str(), u.group.c_str(),
               static_cast<unsigned>(u.uid), static_cast<unsigned>(u.gid));
}

}  // namespace netloom::app
