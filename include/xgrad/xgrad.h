#pragma once
/// The umbrella header: everything a user needs, and nothing from xtensor or xsimd.
#include "xgrad/autograd.h"
#include "xgrad/dtype.h"
#include "xgrad/error.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"
#include "xgrad/ops/softmax.h"
#include "xgrad/random.h"
#include "xgrad/runtime.h"
#include "xgrad/tensor.h"
