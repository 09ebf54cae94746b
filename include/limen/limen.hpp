/**
 * @file limen.hpp
 * @brief The whole public API of limen in one include.
 */
#pragma once

#include <limen/concepts.hpp>
#include <limen/concurrent_manager.hpp>
#include <limen/config.hpp>
#include <limen/error.hpp>
#include <limen/guard.hpp>
#include <limen/heap_manager.hpp>
#include <limen/memory_class.hpp>
#include <limen/message.hpp>
#include <limen/result.hpp>
#include <limen/static_manager.hpp>
#include <limen/stats.hpp>
#include <limen/token.hpp>
