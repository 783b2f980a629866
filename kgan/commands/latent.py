"""`kgan latent {project,morph,arithmetic,steer} SOURCE ...`: the latent tools (`kgan.latent_tools`) on a run
directory, checkpoint or export."""

from __future__ import annotations

from pathlib import Path

from kgan.argtypes import int_range, non_negative_float, positive_int, seed

SOURCE_HELP = "run directory, checkpoint prefix (RUN/checkpoints/ckpt-N), saved_models/NAME or saved_models/NAME/VERSION"


def _positive_float(text: str) -> float:
    import argparse

    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _common(p, out_default: str) -> None:
    p.add_argument("source", help=SOURCE_HELP)
    p.add_argument("--version", type=positive_int, help="export version (default: latest) for saved_models/NAME")
    p.add_argument("--classifier", help="the evaluation classifier (.keras; default: SOURCE/classifier.keras of a run "
                                        "when it exists)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the starts / pool / start points")
    p.add_argument("--scale", type=positive_int, default=2, help="nearest-neighbour upscaling of the PNGs")
    p.add_argument("--out", default=out_default, help="output path")


def _projection_options(p) -> None:
    p.add_argument("--starts", type=positive_int, default=4, help="random starts per image")
    p.add_argument("--steps", type=int_range(0), default=200, help="Adam steps")
    p.add_argument("--lr", type=_positive_float, default=0.1, help="peak learning rate (warm-up and cosine ramp-down)")
    p.add_argument("--features", help="feature network of the distance: classifier:PATH, vgg19:PATH, random:DEPTH or "
                                      "none (default: the evaluation classifier when there is one, else none)")
    p.add_argument("--pixel-weight", type=non_negative_float, default=1.0, help="weight of the pixel MSE")
    p.add_argument("--feature-weight", type=non_negative_float, default=1.0, help="weight of the feature distance")
    p.add_argument("--fix", action="append", default=[], metavar="INPUT=VALUE",
                   help="hold a categorical input (a class label) at VALUE instead of searching all its values")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "latent", help="project images into a model's latent space, morph, vector arithmetic, steering",
        description="Latent tools on the model's declared latent space (a DCGAN's z). project: find the latent whose "
                    "image matches each given image. morph: project two images (or read two points files) and "
                    "render the interpolation. arithmetic: concept vectors (mean latent of several exemplars) added "
                    "and subtracted. steer: follow a classifier's gradient towards a class or attribute.")
    sub = p.add_subparsers(dest="tool", metavar="TOOL", required=True)

    q = sub.add_parser("project", help="find the latent of each image; write points.npz and projection.png",
                       description="Writes OUT/points.npz (the latent and other inputs per image, error, pixel_mse) "
                                   "and OUT/projection.png (targets above their reconstructions).")
    _common(q, "latent_project")
    q.add_argument("images", nargs="+", help="image files (.png, .jpg) or arrays (.npy, .npz with x) of the model's size")
    _projection_options(q)
    q.set_defaults(func=run_project)

    q = sub.add_parser("morph", help="interpolate between two images or points; write the strip",
                       description="A and B are images (projected first) or points files (.npz written by "
                                   "`kgan latent project`, row --rows).")
    _common(q, "morph.png")
    q.add_argument("a", help="image or points .npz")
    q.add_argument("b", help="image or points .npz")
    q.add_argument("--frames", type=int_range(2), default=10, help="images in the strip, ends included")
    q.add_argument("--method", choices=("slerp", "lerp"), default="slerp", help="interpolation")
    q.add_argument("--rows", type=int_range(0), nargs=2, default=[0, 0], metavar=("ROW_A", "ROW_B"),
                   help="rows of the points files")
    _projection_options(q)
    q.set_defaults(func=run_morph)

    q = sub.add_parser("arithmetic", help="concept vector arithmetic, e.g. '7:thick - 7:thin + 1:thin'",
                       description="Each concept (CLASS, CLASS:ATTRIBUTE or :ATTRIBUTE; attributes thick, thin, "
                                   "bright, dark) is the mean latent of its --exemplars best samples of a pool of "
                                   "--pool; the grid shows each concept's exemplars and mean, then the result and "
                                   "--variations noisy copies.")
    _common(q, "arithmetic.png")
    q.add_argument("expression", help="e.g. '7:thick - 7:thin + 1:thin'")
    q.add_argument("--exemplars", type=positive_int, default=3, help="samples averaged per concept")
    q.add_argument("--pool", type=positive_int, default=1000, help="samples drawn to pick exemplars from")
    q.add_argument("--variations", type=int_range(0), default=3, help="noisy copies of the result (uniform +-0.25)")
    q.add_argument("--min-confidence", type=non_negative_float, default=0.9,
                   help="CLASS:ATTRIBUTE exemplars: the classifier's least probability of the class")
    q.set_defaults(func=run_arithmetic)

    q = sub.add_parser("steer", help="move samples along a classifier's gradient towards a class or attribute",
                       description="One row per start point: the start, then every step.")
    _common(q, "steer.png")
    q.add_argument("--target", required=True, help="a class index of the classifier, or thick, thin, bright, dark")
    q.add_argument("--n", type=positive_int, default=4, help="start points (the model's draws from --seed)")
    q.add_argument("--step", type=_positive_float, default=0.25, help="length of each step in the latent space")
    q.add_argument("--max-distance", type=_positive_float, default=3.0, help="bound on the distance from the start")
    q.add_argument("--steps", type=positive_int, default=10, help="steps")
    q.set_defaults(func=run_steer)


# ----------------------------------------------------------------------------- helpers
def _classifier(args) -> str | None:
    from kgan.errors import UsageError

    if args.classifier:
        if not Path(args.classifier).is_file():
            raise UsageError(f"--classifier {args.classifier}: no such file")
        return args.classifier
    default = Path(args.source) / "classifier.keras"
    return str(default) if default.is_file() else None


def _open(args):
    from kgan.latent_tools.judges import Judge
    from kgan.latent_tools.space import open_latent_model

    lm = open_latent_model(args.source, args.version)
    return lm, Judge(_classifier(args), lm.image_shape)


def _fixed(items) -> dict:
    from kgan.errors import UsageError

    fixed = {}
    for item in items:
        name, _, value = item.partition("=")
        if not name or not value.lstrip("-").isdigit():
            raise UsageError(f"--fix {item!r}: expected INPUT=INTEGER, e.g. label=3")
        fixed[name] = int(value)
    return fixed


def _project(lm, args, targets):
    from kgan.latent_tools.distance import make_distance
    from kgan.latent_tools.project import project

    classifier = _classifier(args)
    features = args.features or (f"classifier:{classifier}" if classifier else None)
    distance = make_distance(lm.image_shape, features, args.pixel_weight, args.feature_weight)
    result = project(lm, targets, distance, starts=args.starts, steps=args.steps, lr=args.lr, seed=args.seed,
                     fixed=_fixed(args.fix))
    return result, distance


def _check_files(*paths) -> None:
    from kgan.errors import UsageError

    for path in paths:
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such file")


def _out_png(path) -> Path:
    from kgan.errors import UsageError
    from kgan.io import check_writable_dir

    out = Path(path)
    if out.suffix != ".png":
        raise UsageError(f"--out {out}: expected a file name ending in .png")
    check_writable_dir(out.parent, "--out's folder")
    return out


# ----------------------------------------------------------------------------- tools
def run_project(args) -> int:
    import numpy as np

    from kgan.imageio import to_uint8, write_grid_png
    from kgan.latent_tools.files import read_targets, write_points

    from kgan.errors import UsageError
    from kgan.io import check_writable_dir

    _check_files(*args.images)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    check_writable_dir(out.parent, "--out's folder")
    lm, _ = _open(args)
    targets = read_targets(args.images, lm.image_shape)
    result, distance = _project(lm, args, targets)
    out.mkdir(parents=True, exist_ok=True)
    write_points(out / "points.npz", result.inputs, error=result.error, pixel_mse=result.pixel_mse)
    n, cols = len(targets), min(8, len(targets))
    pairs = [np.concatenate([targets[i:i + cols], result.images[i:i + cols]]) for i in range(0, n, cols)]
    write_grid_png(to_uint8(np.concatenate(pairs)), out / "projection.png", cols=cols, scale=args.scale)
    print(f"distance: {distance.describe}; {args.starts} starts x {result.candidates // args.starts} label values, "
          f"{args.steps} steps")
    for i, (error, mse) in enumerate(zip(result.error, result.pixel_mse)):
        print(f"image {i}: distance {error:.4f}, pixel MSE {mse:.4f}")
    print(f"wrote {out / 'points.npz'} and {out / 'projection.png'} (targets above reconstructions)")
    return 0


def _point(lm, args, path, row):
    import numpy as np

    from kgan.errors import DataError
    from kgan.latent_tools.files import read_point, read_targets

    if Path(path).suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                is_points = lm.latent.name in f.files
        except (ValueError, OSError) as e:
            raise DataError(f"{path}: not an .npz archive ({e})") from None
        if is_points:
            return read_point(path, lm, row)
    result, _ = _project(lm, args, read_targets([path], lm.image_shape)[:1])
    print(f"{path}: projected, pixel MSE {result.pixel_mse[0]:.4f}")
    return result.inputs


def run_morph(args) -> int:
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.latent_tools.morph import morph

    _check_files(args.a, args.b)
    out = _out_png(args.out)
    lm, _ = _open(args)
    a, b = _point(lm, args, args.a, args.rows[0]), _point(lm, args, args.b, args.rows[1])
    method = {"slerp": "spherical", "lerp": "linear"}[args.method]
    _, images = morph(lm, a, b, args.frames, method)
    write_grid_png(to_uint8(images), out, cols=args.frames, scale=args.scale)
    print(f"wrote {out} ({args.frames} frames, {args.method})")
    return 0


def run_arithmetic(args) -> int:
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.latent_tools.arithmetic import arithmetic, grid, parse_expression

    terms = parse_expression(args.expression)
    out = _out_png(args.out)
    lm, judge = _open(args)
    result = arithmetic(lm, judge, terms, exemplars=args.exemplars, pool=args.pool, seed=args.seed,
                        min_confidence=args.min_confidence)
    images, cols = grid(lm, result, args.variations, seed=args.seed)
    write_grid_png(to_uint8(images), out, cols=cols, scale=args.scale)
    for term in result.terms:
        print(f"{'+' if term.sign > 0 else '-'} {term.concept}: mean of pool samples {term.exemplars.tolist()}")
    print(f"wrote {out} (a row per concept: exemplars, then their mean; last row: the result and "
          f"{args.variations} noisy copies)")
    return 0


def run_steer(args) -> int:
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.latent_tools.steer import steer

    out = _out_png(args.out)
    lm, judge = _open(args)
    judge.check(args.target)
    result = steer(lm, judge, args.target, lm.draw(args.n, args.seed), step=args.step,
                   max_distance=args.max_distance, steps=args.steps)
    write_grid_png(to_uint8(result.images.reshape(-1, *result.images.shape[2:])), out, cols=args.steps + 1,
                   scale=args.scale)
    for i, scores in enumerate(result.scores):
        print(f"start {i}: score of {args.target} {scores[0]:.3f} -> {scores[-1]:.3f}")
    print(f"wrote {out} (a row per start: the start, then {args.steps} steps)")
    return 0
