#pragma once
/// Neural-network building blocks: modules and containers, layers, losses, initialisers, summaries
/// and saving (namespace xg::nn; functional forms in xg::nn::functional).
#include "xgrad/nn/activation.h"
#include "xgrad/nn/container.h"
#include "xgrad/nn/conv.h"
#include "xgrad/nn/dropout.h"
#include "xgrad/nn/embedding.h"
#include "xgrad/nn/functional.h"
#include "xgrad/nn/init.h"
#include "xgrad/nn/linear.h"
#include "xgrad/nn/loss.h"
#include "xgrad/nn/module.h"
#include "xgrad/nn/normalization.h"
#include "xgrad/nn/ordered_dict.h"
#include "xgrad/nn/pooling.h"
#include "xgrad/nn/rnn.h"
#include "xgrad/nn/serialize.h"
#include "xgrad/nn/summary.h"
