#include "io/png.h"

#include <png.h>

#include <cstring>

#include "xgrad/error.h"

namespace xg::io {

std::string encode_png(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels) {
  if (height <= 0 || width <= 0 || (channels != 1 && channels != 3 && channels != 4))
    fail<ValueError>("encode_png: need a non-empty image with 1, 3 or 4 channels, got {}x{}x{}", height, width,
                     channels);
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(width);
  img.height = static_cast<png_uint_32>(height);
  img.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  const auto stride = static_cast<png_int_32>(width * channels);
  // The simplified API sizes the output on a first call without a buffer.
  png_alloc_size_t size = 0;
  std::string out;
  bool ok = png_image_write_to_memory(&img, nullptr, &size, 0, pixels, stride, nullptr) != 0;
  if (ok) {
    out.resize(size);
    ok = png_image_write_to_memory(&img, out.data(), &size, 0, pixels, stride, nullptr) != 0;
  }
  const std::string why = img.message;
  png_image_free(&img);
  if (!ok) fail<IOError>("encode_png: {}", why);
  out.resize(size);
  return out;
}

}  // namespace xg::io
