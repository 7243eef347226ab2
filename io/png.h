#pragma once
/// PNG encoding through libpng (8-bit gray, RGB or RGBA).
#include <cstdint>
#include <string>

namespace xg::io {

/// pixels: height × width × channels bytes, rows top to bottom; channels 1, 3 or 4. Returns the
/// PNG file's bytes; an encoding failure is an IOError.
std::string encode_png(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels);

}  // namespace xg::io
