/* format.h: every constant of the .inrf byte layout (spec/inrf.md), in one
 * place for the reader, the writer and the tests. Private to libinrf. */
#ifndef INRF_FORMAT_H
#define INRF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* File header (spec "File header"), 20 bytes:
 *   0  u8[8] magic   89 49 4E 52 46 0D 0A 1A  ("\x89INRF\r\n\x1a")
 *   8  u8    major   1
 *   9  u8    minor   0
 *  10  u16   flags   reserved, MUST be 0 (readers reject)
 *  12  u32   length  total file length in bytes, header included
 *  16  u32   check   low 32 bits of XXH3-64(seed 0) of bytes 0..15 */
#define INRF_MAGIC "\x89INRF\r\n\x1a"
#define INRF_MAGIC_SIZE 8
#define INRF_FORMAT_MAJOR 1
#define INRF_FORMAT_MINOR 0
#define INRF_FILE_HEADER_SIZE 20

/* Chunk (spec "Chunks"): 12-byte header, payload, 8-byte checksum.
 *   0  u32   type    four ASCII letters; first uppercase = critical
 *   4  u32   flags   bit 0: payload is zstd (u32 raw length + one frame);
 *                    bits 1..15 reserved (reject if set);
 *                    bits 16..31 unused (writers 0, readers ignore)
 *   8  u32   length  stored payload bytes
 *  12  ...   payload
 *  12+length u64 checksum  XXH3-64(seed 0) of the 12 header bytes followed
 *                          by the stored payload */
#define INRF_CHUNK_HEADER_SIZE 12
#define INRF_CHUNK_TRAILER_SIZE 8
#define INRF_CHUNK_OVERHEAD (INRF_CHUNK_HEADER_SIZE + INRF_CHUNK_TRAILER_SIZE)
#define INRF_CHUNK_FLAG_ZSTD 0x1u
#define INRF_CHUNK_FLAGS_RESERVED 0xfffeu
#define INRF_CHUNK_FLAGS_UNUSED 0xffff0000u
#define INRF_ZSTD_PREFIX 4 /* u32 raw length before the zstd frame */

#define INRF_FOURCC(a, b, c, d) \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define INRF_CHUNK_IHDR INRF_FOURCC('I', 'H', 'D', 'R')
#define INRF_CHUNK_NHDR INRF_FOURCC('N', 'H', 'D', 'R')
#define INRF_CHUNK_WGHT INRF_FOURCC('W', 'G', 'H', 'T')
#define INRF_CHUNK_QUAL INRF_FOURCC('q', 'u', 'a', 'l')

/* IHDR payload, 12 bytes:
 *   0 u32 width  1..2^24     4 u32 height 1..2^24
 *   8 u8 channels 1 or 3     9 u8 colour space, 0 = sRGB
 *  10 u16 reserved, MUST be 0 */
#define INRF_IHDR_SIZE 12
#define INRF_COLOUR_SRGB 0

/* NHDR payload, 12 + 2L bytes:
 *   0 u8 kind (0 = SIREN)    1 u8 L, sine layers 1..64
 *   2 u8 coordinates (0 = pixel centres on [-1, 1]^2)
 *   3 u8 output mapping (0 = [0, 1], 1 = [-1, 1])
 *   4 f32 w0 of the first sine layer   8 f32 w0 of the other sine layers
 *  12 u16[L] width of each sine layer, 1..1024 */
#define INRF_NHDR_FIXED 12
#define INRF_COORDS_CENTRES 0

/* WGHT payload: L + 1 layer records back to back, nothing after. Record:
 *   0 u8 encoding (inrf_encoding)  1 u8 bias encoding (0 f32, 1 f16)
 *   2 u8 flags: bit 0 pruned (bitmap present), bits 1..7 reserved
 *   3 u8 reserved, MUST be 0
 *   4 u32 nnz: weights stored
 *   8 bitmap, ceil(in*out / 8) bytes, if pruned (padding bits MUST be 0)
 *     scales: f32 x (0 | 1 | out)
 *     values: nnz x (4 | 2 | 1) bytes, kept weights in row-major order
 *     biases: out x (4 | 2) bytes */
#define INRF_LAYER_HEADER_SIZE 8
#define INRF_LAYER_FLAG_PRUNED 0x1u

/* 'qual' payload: f32 PSNR in dB of the stored model against its source. */
#define INRF_QUAL_SIZE 4

/* binary16 (spec "Conventions"): the exponent field; 31 is Inf or NaN,
 * which no file may hold (spec "Layer record"). */
#define INRF_F16_EXP_MASK 0x7c00u

/* libinrf's default reader limits (spec/inrf.md "Limits") beyond the spec
 * limits, which inrf_read_options_init sets. The writer and the encoder
 * enforce the same values, so that libinrf never writes a file that its
 * own readers refuse by default (max_dim, max_layers and max_width are the
 * spec limits INRF_MAX_DIM, INRF_MAX_SINE_LAYERS and INRF_MAX_WIDTH). */
#define INRF_DEFAULT_MAX_FILE_BYTES ((size_t)64 << 20)
#define INRF_DEFAULT_MAX_PARAMS ((size_t)1 << 22)

/* ------------------------------------------------------------ .inrpack
 * spec/inrpack.md. All offsets from the file start; the index and every
 * record start on a multiple of 64 bytes; padding bytes MUST be 0.
 *
 * Header, 64 bytes:
 *   0 u8[8] magic   89 49 4E 50 4B 0D 0A 1A  ("\x89INPK\r\n\x1a")
 *   8 u8    major 1         9 u8 minor 0
 *  10 u16   flags           reserved, MUST be 0
 *  12 u32   count           images, 0..2^28
 *  16 u16   archs           entries of the architecture table, 1..255
 *  18 u16   reserved        MUST be 0
 *  20 u32   classes         entries of the class table, 1..65535
 *  24 u64   length          total file length, 256..2^53 - 1
 *  32 u64   index_offset    = align64(end of the class table)
 *  40 u64   records_offset  = align64(index_offset + 48 * count)
 *  48 u64   directory_check XXH3-64 (seed 0) of the records_offset - 64
 *                           bytes from offset 64 (architecture table, class
 *                           table, index, and the padding between them)
 *  56 u64   header_check    XXH3-64 (seed 0) of bytes 0..55
 *
 * Architecture table at 64, archs x 144 bytes:
 *   0 u8 channels 1 or 3 (the same for every entry)   1 u8[3] reserved 0
 *   4 NHDR payload of spec/inrf.md (12 + 2L bytes), then zeros to 144
 *
 * Class table right after it: classes x (u8 length 1..255, then that many
 * bytes of UTF-8 name: valid UTF-8, no '/', '\\' or control character
 * (U+0000..U+001F, U+007F..U+009F), not "." or "..", unique), then zeros
 * to index_offset. Architectures are numbered in order of first use in
 * the index. 
 *
 * Index at index_offset, count x 48 bytes, in strictly increasing seq:
 *   0 u64 offset   of the record: records_offset for the first, then
 *                  align64(end of the previous record)
 *   8 u64 check    XXH3-64 (seed 0) of the record's size bytes
 *  16 u32 size     record bytes, padding excluded, 1..2^24
 *  20 u32 label    < classes
 *  24 u32 width    source image width, 1..2^24
 *  28 u32 height   source image height, 1..2^24
 *  32 f32 psnr     of the model against its source, dB; finite, or NaN
 *                  if unknown
 *  36 u32 seq      position of the image in the source list
 *  40 u16 arch     < archs
 *  42 u16 flags    reserved, MUST be 0
 *  44 u32 reserved MUST be 0
 *
 * Record: the WGHT payload of spec/inrf.md (L + 1 layer records), never
 * compressed. length = align64(end of the last record), or records_offset
 * when count is 0. */
#define INRP_MAGIC "\x89INPK\r\n\x1a"
#define INRP_FORMAT_MAJOR 1
#define INRP_FORMAT_MINOR 0
#define INRP_ALIGN 64
#define INRP_HEADER_SIZE 64
#define INRP_ARCH_SIZE 144
#define INRP_ENTRY_SIZE 48
#define INRP_MAX_COUNT (1u << 28)
#define INRP_MAX_ARCHS 255
#define INRP_MAX_CLASSES 65535
#define INRP_MAX_RECORD (1u << 24)
#define INRP_MIN_LENGTH 256                /* one architecture, one 1-byte class */
#define INRP_MAX_LENGTH ((uint64_t)1 << 53) /* exclusive */

#endif /* INRF_FORMAT_H */
