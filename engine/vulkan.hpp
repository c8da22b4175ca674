// The one place the engine includes Vulkan: through volk, so no libvulkan link-time dependency
// and a clear message (not a loader crash) when no Vulkan loader is installed.
#pragma once

#include <volk.h>
