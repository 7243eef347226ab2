#pragma once
/// CRC-32C (Castagnoli), as TFRecord frames need; table-driven, one byte at a time (records are
/// small, so this is nowhere near the training's cost).
#include <cstddef>
#include <cstdint>

namespace xg::io {

/// The CRC-32C of data, continuing from crc (0 to start): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
/// TFRecord's masked form: rotate right by 15 and add 0xa282ead8, so that a CRC stored in data
/// does not look like one computed over it.
inline uint32_t mask_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace xg::io
