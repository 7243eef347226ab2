#pragma once
/// Keras-style training: Model (compile / fit / evaluate / predict), metrics, callbacks, History
/// and the progress bar (namespace xg::train).
#include "xgrad/train/callbacks.h"
#include "xgrad/train/html_report.h"
#include "xgrad/train/logs.h"
#include "xgrad/train/metrics.h"
#include "xgrad/train/model.h"
#include "xgrad/train/progress.h"
#include "xgrad/train/tensorboard.h"
