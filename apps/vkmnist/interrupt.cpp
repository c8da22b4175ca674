// The interrupt handler: async-signal-safe (write and _exit on a message prepared beforehand).
#include "apps/vkmnist/interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

namespace vkmnist {
namespace {

std::array<char, 4096> message{};
std::atomic<size_t> message_length{0};
bool outer_set = false;

void on_interrupt(int) {
  const size_t n = message_length.load();
  if (n > 0) {
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message.data(), n);
  }
  ::_exit(130);
}

std::string& hint_command() {
  static std::string command;
  return command;
}

}  // namespace

const std::string& resume_command() {
  return hint_command();
}

void set_resume_hint(const std::string& command, bool outer) {
  if (outer_set && !outer) return;
  outer_set = outer_set || outer;
  hint_command() = command;
  const std::string text =
      "\nvkmnist: interrupted; every completed epoch is kept. Continue with: " + command + "\n";
  message_length.store(0);  // a signal meanwhile prints nothing rather than half a message
  const size_t n = std::min(text.size(), message.size());
  std::memcpy(message.data(), text.data(), n);
  message_length.store(n);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

std::string shell_quoted(const std::string& text) {
  const bool safe = !text.empty() && text.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-./:=+@%,") == std::string::npos;
  if (safe) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace vkmnist
