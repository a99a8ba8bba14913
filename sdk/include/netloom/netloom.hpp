// Everything a block author needs.
#pragma once
#include "netloom/block.hpp"
#include "netloom/classification.hpp"
#include "netloom/error.hpp"
#include "netloom/flow.hpp"
#include "netloom/histogram.hpp"
#include "netloom/l7.hpp"
#include "netloom/message.hpp"
#include "netloom/packet.hpp"
#include "netloom/params.hpp"
#include "netloom/plugin.hpp"
#include "netloom/skype.hpp"
#include "netloom/version.hpp"
