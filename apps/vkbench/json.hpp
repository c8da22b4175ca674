// vkbench's JSON: one report object per device (the shape bench/torch_reference.py also
// writes: "device" and "end_to_end" at the top), or {"reports": [...]} for several devices.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "apps/vkbench/report.hpp"

namespace vkbench {

nlohmann::ordered_json to_json(const DeviceReport& report);
DeviceReport report_from_json(const nlohmann::ordered_json& json);

// Writes one report as an object, several as {"reports": [...]}; atomically (temporary + rename).
void write_reports(const std::string& path, const std::vector<DeviceReport>& reports);
// Reads either form; throws vkm::Error naming the file on anything unreadable.
std::vector<DeviceReport> read_reports(const std::string& path);

}  // namespace vkbench
