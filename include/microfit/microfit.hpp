// microfit: train and run small neural networks in firmware, with no heap.
#pragma once

#include "microfit/config.hpp"
#include "microfit/dataset.hpp"
#include "microfit/early_stopping.hpp"
#include "microfit/evaluation.hpp"
#include "microfit/fit_options.hpp"
#include "microfit/layers.hpp"
#include "microfit/loss.hpp"
#include "microfit/metrics.hpp"
#include "microfit/optimizer.hpp"
#include "microfit/random.hpp"
#include "microfit/sampler.hpp"
#include "microfit/sequential.hpp"
#include "microfit/status.hpp"
#include "microfit/storage.hpp"
#include "microfit/trainer.hpp"
#include "microfit/weighting.hpp"
