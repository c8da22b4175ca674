// Ctrl-C during training: the run folders are transactional (a stop at any instant leaves every
// completed epoch intact and --resume finishes the job), so SIGINT and SIGTERM end the program at
// once with exit code 130 and one line saying how to continue.
#pragma once

#include <string>

namespace vkmnist {

// From now on an interrupt prints "vkmnist: interrupted; continue with: <command>". With
// `outer`, later calls without it do not replace the hint (compare's study-wide hint stays while
// each model's run sets its own).
void set_resume_hint(const std::string& command, bool outer = false);
// The command of the hint in force ("" before any): what a run stopped on purpose
// (--stop-after) tells the user to run, the study's or sweep's own where there is one.
const std::string& resume_command();

// `text` as one shell word: unchanged when it holds only safe characters, else single-quoted.
std::string shell_quoted(const std::string& text);

}  // namespace vkmnist
