// The small interface a penalty needs from an encoder.
//
// Penalties never know which model they regularize: they see a function x -> code, the live
// parameters the code depends on, and, when the encoder is a chain of Linear + elementwise
// layers, a view of those layers for the closed-form (analytic) Jacobian.
//
//   carve::AutoEncoder ae(carve::AutoEncoderOptions(784, 1000));
//   carve::Encoder& enc = *ae;                // every model of carve is an Encoder
//   auto codes = enc.encode_layers(x);       // one tensor per layer, codes.back() is the code
#pragma once

#include <torch/torch.h>

#include <vector>

#include "carve/nn/activation.h"

namespace carve {

// One layer h = f(x W^T + b). Tensors are the live parameters, never copies.
struct AffineLayer {
  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out]
  Activation activation;
};

/// What a penalty sees of a model (the file comment says why).
class Encoder {
 public:
  virtual ~Encoder() = default;

  // Outputs of every layer for a batch x [B, input_size]; the last one is the code.
  virtual std::vector<torch::Tensor> encode_layers(const torch::Tensor& x) = 0;

  // The layers from input to code, or empty when the encoder is not such a chain (then only
  // the autograd-based penalties apply).
  virtual std::vector<AffineLayer> affine_layers() = 0;

  // Every parameter the code depends on (for an untied auto-encoder: not the decoder's).
  virtual std::vector<torch::Tensor> encoder_parameters() = 0;

  virtual int64_t input_size() const = 0;
  virtual int64_t code_size() const = 0;

  torch::Tensor code(const torch::Tensor& x) { return encode_layers(x).back(); }
};

}  // namespace carve
