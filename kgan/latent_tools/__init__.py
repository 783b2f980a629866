"""Latent tools for any model with a declared latent space (`kgan.models.surface.latent_space`), from a run or an
export: projection (inversion), morphing, vector arithmetic and classifier steering.

| module | job |
|---|---|
| `space` | `open_latent_model(path)` / `from_model` / `from_served` -> `LatentModel` (the space, differentiable renderer) |
| `distance` | `make_distance(image_shape, features, ...)`: pixels + feature-network distance per image |
| `judges` | `Judge(classifier_path)`: class probabilities and attributes (`thick`, `thin`: ink mass) as scores |
| `project` | `project(lm, targets, distance, starts=, steps=, lr=, fixed=, initial=)` -> `Projection` |
| `morph` | `morph(lm, a, b, steps, method)`: images along lerp/slerp between two points |
| `arithmetic` | `parse_expression("7:thick - 7:thin + 1:thin")`, `arithmetic(lm, judge, terms, ...)` |
| `steer` | `steer(lm, judge, target, start, step=, max_distance=, steps=)` |
| `files` | reading target images and writing/reading points (`.npz`) |

TensorFlow is imported inside the functions that need it.
"""
