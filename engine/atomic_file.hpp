// Writing a file so that a crash or a full disk leaves the old file or the whole new one, never
// half of one: the bytes go to a temporary beside it ("<file>.tmp<pid>"), are flushed and synced,
// and the temporary is renamed over the file. The one way every part of vkmnist writes a file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace vkm {

// "<file>.tmp<pid>": where a write of `file` goes first.
std::filesystem::path temporary_for(const std::filesystem::path& file);
// True for a name temporary_for() makes (so a folder's strays can be cleaned up).
bool is_temporary_name(std::string_view filename);

// Throws vkm::Error naming `file` (and what to check) when it cannot be written.
void write_file_atomically(const std::filesystem::path& file, std::span<const std::byte> bytes);
void write_file_atomically(const std::filesystem::path& file, std::string_view text);
// Throws what write_file_atomically would when `file`'s temporary cannot be created (its folder
// missing or not writable), by creating and removing that temporary: for an output checked
// before seconds of work rather than after them.
void check_writable(const std::filesystem::path& file);

// For a temporary another library wrote (e.g. a plotting library given temporary_for(file)):
// renames it over `file`; removes it and throws vkm::Error when that fails.
void replace_with_temporary(const std::filesystem::path& temporary,
                            const std::filesystem::path& file);

}  // namespace vkm
