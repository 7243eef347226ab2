#pragma once
/// The data layer: datasets, finding them on disk, the DataLoader and transforms.
#include "xgrad/data/csv.h"
#include "xgrad/data/dataset.h"
#include "xgrad/data/images.h"
#include "xgrad/data/loader.h"
#include "xgrad/data/locate.h"
#include "xgrad/data/table.h"
#include "xgrad/data/transforms.h"
