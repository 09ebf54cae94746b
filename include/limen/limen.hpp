// SPDX-License-Identifier: Apache-2.0
/**
 * @file limen.hpp
 * @brief The whole public API of limen in one include.
 */
#pragma once

#include <limen/any_manager.hpp>
#include <limen/concepts.hpp>
#include <limen/concurrent_manager.hpp>
#include <limen/config.hpp>
#include <limen/cpu_device.hpp>
#include <limen/device_lease.hpp>
#include <limen/device_manager.hpp>
#include <limen/device_view.hpp>
#include <limen/error.hpp>
#include <limen/guard.hpp>
#include <limen/heap_manager.hpp>
#include <limen/manager_config.hpp>
#include <limen/memory_class.hpp>
#include <limen/message.hpp>
#include <limen/pinned_buffer_pool.hpp>
#include <limen/pinned_manager.hpp>
#include <limen/result.hpp>
#include <limen/runtime.hpp>
#include <limen/shared_manager.hpp>
#include <limen/static_manager.hpp>
#include <limen/stats.hpp>
#include <limen/stream.hpp>
#include <limen/token.hpp>
