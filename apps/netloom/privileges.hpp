// `netloom run --user USER[:GROUP]`: give up root once the blocks are
// configured (capture handles open, output directories probed), before any
// packet flows, so a parser bug cannot act with root's rights.
#pragma once
#include <sys/types.h>

#include <string>

namespace netloom::app {

struct TargetUser {
  std::string spec;   // as given, for messages
  std::string name;   // user name ("" for a numeric uid without a passwd entry)
  std::string group;  // group name or the number given
  uid_t uid = 0;
  gid_t gid = 0;
  bool explicit_group = false;  // GROUP given: the only group; else the user's groups (initgroups)
};

// Looks USER[:GROUP] up (names or numeric ids) and checks that the change is
// possible: netloom runs as root, the target is not root. Throws
// std::runtime_error with one line ("--user X: no such user", ...).
TargetUser resolve_user(const std::string& spec);

// Before the blocks are configured: files are opened and created with the
// target user's rights (its groups, and setfsgid/setfsuid on this thread,
// the one that configures the blocks), while root's other capabilities stay
// so a live capture can still be opened. Directories the blocks create get
// the user's ownership, and a file the user cannot read or write is a
// configuration error instead of a failure after the drop.
void assume_file_identity(const TargetUser& user);

// Switches the whole process (every thread) to the user for good: groups,
// gid, uid, no capabilities left, no way to regain any; then checks that
// setuid(0) fails. Throws std::runtime_error with one line on any failure.
void drop_privileges(const TargetUser& user);

}  // namespace netloom::app
