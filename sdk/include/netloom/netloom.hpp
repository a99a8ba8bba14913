// Everything a block author needs.
#pragma once
#include "netloom/block.hpp"
#include "netloom/error.hpp"
#include "netloom/flow.hpp"
#include "netloom/message.hpp"
#include "netloom/packet.hpp"
#include "netloom/params.hpp"
#include "netloom/plugin.hpp"
#include "netloom/version.hpp"
