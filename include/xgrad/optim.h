#pragma once
/// Optimizers, learning-rate schedulers and gradient clipping (xg::optim).
#include "xgrad/optim/adagrad.h"
#include "xgrad/optim/adam.h"
#include "xgrad/optim/clip.h"
#include "xgrad/optim/lr_scheduler.h"
#include "xgrad/optim/optimizer.h"
#include "xgrad/optim/rmsprop.h"
#include "xgrad/optim/sgd.h"
