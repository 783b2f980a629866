"""text_gan's `model.options`: defaults, validation (TensorFlow-free) and the networks they build.

| option | default | meaning |
|---|---|---|
| `encoder` | `char` | `char` (TextVectorization + char-CNN-GRU, trained), `digit` (the digit the caption names, one-hot: the class-conditional baseline), `hub:PATH` (a pretrained TF-Hub text module in a local directory, frozen; never downloaded) |
| `embed_dim` | 128 | size of the char encoder's text embedding |
| `text_dim` | 128 | the embedding compressed for G and D (the paper's 128) |
| `encoder_width` | 64 | channels of the char-CNN |
| `max_length` | 64 | characters read per caption |
| `augmentation` | false | conditioning augmentation (StackGAN) instead of the plain compression in G |
| `kl_weight` | 1.0 | weight of its KL term |
| `mismatch_weight` | 1.0 | GAN-CLS: weight of (real image, mismatching text) -> fake; 0 = a plain conditional D |
| `interpolation` | 0.0 | GAN-INT: weight of G's term on interpolated embeddings (the paper: 1); 0 = off |
| `interpolation_beta` | 0.5 | beta of h = beta h1 + (1 - beta) h2 |
| `match_weight` | 1.0 | the matching objective (joint image/text embedding) training the char encoder with D |
| `encoder_updates` | `gan` | what trains the char encoder: `gan` (D's loss and the matching objective) or `match` (the matching objective alone, its own optimizer group `text_encoder`; a phase with `match = 0` keeps it fixed) |
| `projection` | false | D also scores <phi(x), W c> (projection discriminator) beside the replicated text |
"""

from __future__ import annotations

from pathlib import Path

from kgan.errors import ConfigError

TEXT_GAN_OPTIONS = {"encoder": "char", "embed_dim": 128, "text_dim": 128, "encoder_width": 64, "max_length": 64,
                    "augmentation": False, "kl_weight": 1.0, "mismatch_weight": 1.0, "interpolation": 0.0,
                    "interpolation_beta": 0.5, "match_weight": 1.0, "encoder_updates": "gan", "projection": False}
ENCODERS = ("char", "digit", "hub:PATH")
ENCODER_UPDATES = ("gan", "match")

DOCS = {
    "encoder": "text encoder: char (TextVectorization + char-CNN-GRU) | digit (one-hot of the digit named: the "
               "class-conditional baseline) | hub:PATH (a local TF-Hub text module, frozen, never downloaded)",
    "embed_dim": "size of the char encoder's text embedding",
    "text_dim": "the embedding compressed for G and D (the paper: 128)",
    "encoder_width": "channels of the char-CNN", "max_length": "characters read per caption",
    "augmentation": "conditioning augmentation (StackGAN) in G instead of the plain compression",
    "kl_weight": "weight of the conditioning augmentation's KL term",
    "mismatch_weight": "GAN-CLS: weight of (real image, mismatching text) -> fake (0 = plain conditional D)",
    "interpolation": "GAN-INT: weight of G's term on interpolated caption embeddings (the paper: 1; 0 = off)",
    "interpolation_beta": "GAN-INT: beta of beta h1 + (1 - beta) h2",
    "match_weight": "matching objective (joint image/text embedding) that trains the char encoder with D",
    "encoder_updates": "what trains the char encoder: gan (D's loss and the matching objective) | match (the matching "
                       "objective alone, optimizer group text_encoder; a phase with match = 0 keeps it fixed)",
    "projection": "D also scores <phi(x), W c> (projection discriminator, Miyato & Koyama) beside the replicated text",
}


def text_gan_options(cfg) -> dict:
    """text_gan's options with defaults, validated; the data must carry captions (`data.captions`)."""
    from kgan.models.options import check_non_negative, check_upsampling_resolution, with_defaults

    if not cfg.data.captions:
        raise ConfigError("data.captions: text_gan learns from captions; set data.captions to 'file', 'file:PATH' "
                          "or 'attributes'")
    if cfg.model.loss not in ("auto", "non_saturating"):
        raise ConfigError(f"model.loss: text_gan's GAN-CLS loss is the non-saturating one; got {cfg.model.loss!r}")
    opts = with_defaults(cfg, TEXT_GAN_OPTIONS, "text_gan")
    encoder = opts["encoder"]
    if not isinstance(encoder, str) or not (encoder in ("char", "digit") or encoder.startswith("hub:")):
        raise ConfigError(f"model.options.encoder: {encoder!r} is not allowed; choose from {list(ENCODERS)}")
    if encoder.startswith("hub:") and not Path(encoder[4:]).expanduser().is_dir():
        raise ConfigError(f"model.options.encoder: {encoder[4:]!r} is not a directory; a pretrained encoder is read "
                          "from a local TF-Hub / SavedModel directory (never downloaded)")
    for key in ("embed_dim", "text_dim", "encoder_width", "max_length"):
        if isinstance(opts[key], bool) or not isinstance(opts[key], int) or opts[key] < 1:
            raise ConfigError(f"model.options.{key}: expected an int >= 1, got {opts[key]!r}")
    for key in ("augmentation", "projection"):
        if not isinstance(opts[key], bool):
            raise ConfigError(f"model.options.{key}: expected true or false, got {opts[key]!r}")
    if opts["encoder_updates"] not in ENCODER_UPDATES:
        raise ConfigError(f"model.options.encoder_updates: {opts['encoder_updates']!r} is not allowed; choose from "
                          f"{list(ENCODER_UPDATES)}")
    check_non_negative(opts, ("kl_weight", "mismatch_weight", "interpolation", "interpolation_beta", "match_weight"))
    if opts["interpolation_beta"] > 1:
        raise ConfigError(f"model.options.interpolation_beta: expected a number in [0, 1], got {opts['interpolation_beta']!r}")
    if opts["encoder_updates"] == "match" and encoder == "char" and not opts["match_weight"]:
        raise ConfigError("model.options.encoder_updates: 'match' trains the char encoder by the matching objective "
                          "alone; it needs match_weight > 0")
    check_upsampling_resolution(cfg, "text_gan's DCGAN nets")
    return opts


def build_networks(cfg) -> tuple[dict, dict]:
    """({generator, discriminator, text_encoder, image_encoder}, options) for a config."""
    from kgan.models.registry import resolve
    from kgan.nets import text

    opts = text_gan_options(cfg)
    _, _, norm = resolve(cfg)
    image_shape = (cfg.data.resolution, cfg.data.resolution, cfg.data.channels)
    encoder = opts["encoder"]
    if encoder == "char":
        from kgan.data.text import vocabulary

        text_encoder = text.char_encoder(vocabulary(cfg.data), opts["embed_dim"], opts["encoder_width"],
                                         opts["max_length"])
    elif encoder == "digit":
        text_encoder = text.digit_encoder()
    else:
        text_encoder = text.hub_encoder(str(Path(encoder[4:]).expanduser()))
    embed_dim = int(text_encoder.output_shape[-1])
    width = cfg.model.width
    trained = encoder == "char" and opts["match_weight"] > 0
    return {"generator": text.text_generator(cfg.model.latent_dim, embed_dim, image_shape, text_dim=opts["text_dim"],
                                             width=width, augmentation=opts["augmentation"], seed=cfg.seed),
            "discriminator": text.text_discriminator(image_shape, embed_dim, text_dim=opts["text_dim"], width=width,
                                                     norm=norm, projection=opts["projection"]),
            "text_encoder": text_encoder,
            "image_encoder": text.image_encoder(image_shape, embed_dim, width) if trained else None}, opts
