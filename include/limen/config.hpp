/**
 * @file config.hpp
 * @brief Build-time facts about limen: version and portable function qualifiers.
 */
#pragma once

/// limen's version, as major * 10000 + minor * 100 + patch.
#define LIMEN_VERSION 100

/**
 * @brief Marks a function callable from host and device code.
 *
 * Expands to `__host__ __device__` under nvcc and to nothing under g++, so
 * headers such as `device_view.hpp` compile with either compiler.
 */
#if defined(__CUDACC__)
#define LIMEN_HD __host__ __device__
#else
#define LIMEN_HD
#endif
