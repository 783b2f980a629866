"""Luigi pipeline: PrepareDataset -> TrainClassifier -> TrainGAN -> ExportModel -> Evaluate -> RenderGallery.

    luigi --module kgan.tasks Pipeline --config pipelines/mnist_dcgan.toml --local-scheduler
    kgan pipeline pipelines/mnist_dcgan.toml       (or a shipped config by name: kgan pipeline mnist_dcgan)

Tasks are thin: parameters, targets and ordering; the work is done by plain functions in `kgan`.
Identity: every stage gets the whole (canonical, key-sorted) config as an insignificant parameter
and, as its only significant parameter besides the root, a digest of the config sections that
matter to it. Changing a training value therefore reruns training and what follows, never data
preparation; renaming the config file changes nothing.
TensorFlow is imported inside `run()` only (config validation and `requires()` import neither TensorFlow nor
Keras): `--workers N` forks, and a forked TensorFlow is unsafe.
"""

from __future__ import annotations

import json
from pathlib import Path

import luigi

from kgan import classifiers

# The shipped Luigi settings (retcodes, resources, check_complete_on_run) apply however the tasks are run;
# a luigi.cfg in the working directory or LUIGI_CONFIG_PATH still overrides them.
luigi.configuration.LuigiConfigParser.add_config_path(str(Path(__file__).with_name("luigi.cfg")))
luigi.configuration.LuigiConfigParser.reload()

# Which config sections (or dotted keys) each stage depends on.
SECTIONS = {
    "PrepareDataset": ("data",),
    "TrainClassifier": classifiers.SECTIONS,
    "TrainGAN": ("name", "data", "model", "train", "eval.features", "eval.inception_handle",
                 "eval.classifier_epochs", "eval.history_every", "eval.history_samples"),
    "ExportModel": ("name", "data", "model", "train", "export"),
    "Evaluate": ("name", "data", "model", "train", "export", "eval"),
    "RenderGallery": ("name", "data", "model", "train", "export", "eval"),
}


def stage_digest(cfg, stage: str) -> str:
    """The digest of the sections a stage reads; how workers are started (`train.launcher`) is not among them, so
    a job restarted through another launcher resumes the same run."""
    return cfg.replace(**{"train.launcher": ""}).section_hash(*SECTIONS[stage])


def _config(experiment: str):
    from kgan.config import from_dict

    return from_dict(json.loads(experiment))


class Stage(luigi.Task):
    """A pipeline stage: the experiment config (canonical JSON) plus the digest that names the stage."""

    experiment = luigi.Parameter(significant=False, description="canonical JSON of the experiment config")
    root = luigi.Parameter(default="runs", description="where pipeline outputs live")
    digest = luigi.Parameter(description="hash of the config sections this stage depends on")

    @classmethod
    def for_config(cls, cfg, root: str):
        experiment = json.dumps(cfg.to_dict(), sort_keys=True, separators=(",", ":"))
        return cls(experiment=experiment, root=root, digest=stage_digest(cfg, cls.__name__))

    @property
    def cfg(self):
        return _config(self.experiment)

    def stage(self, cls):
        return cls.for_config(self.cfg, self.root)

    @property
    def experiment_dir(self) -> Path:
        return Path(self.root) / self.cfg.name

    def progress(self, percent: float, message: str) -> None:
        self.set_progress_percentage(round(percent, 1))
        self.set_status_message(message)


WORKERS_CONFIG = "workers.toml"  # beside a multi-worker run: the config (with the prepared data) its workers train
WORKERS_HISTORY = "workers_history.json"  # beside it: the metric history's spec (its reference as a recipe)
REFERENCE_IMAGES = 10_000  # evaluation's reference: a sample of this many prepared images (or eval.num_samples)


class PrepareDataset(Stage):
    """Source -> model-ready TFRecord shards + dataset card (count, shapes, histogram, per-shard checksums, the
    source's digest); a rerun after a kill redoes only the unfinished shards."""

    def output(self):
        return luigi.LocalTarget(str(Path(self.root) / "datasets" / self.digest / "card.json"))

    def run(self):
        from kgan.prepare import prepare_dataset

        self.progress(0, f"decoding {self.cfg.data.source}")
        card = prepare_dataset(self.cfg.data, Path(self.output().path).parent)
        self.progress(100, f"{card['count']} images {card['shape']}")

    @property
    def data_dir(self) -> Path:
        return Path(self.output().path).parent

    @property
    def data_config(self):
        """The data section that reads the prepared data (`kgan.prepare.prepared_data_config`)."""
        from kgan.prepare import prepared_data_config

        return prepared_data_config(self.cfg.data, self.data_dir)

    def reference(self, cfg):
        """Evaluation's real images (`kgan.metrics.reference`), streamed: a seeded uniform sample of
        max(eval.num_samples, REFERENCE_IMAGES) prepared images (all of them in a smaller set), named by the card's
        checksum; its memory is their features, whatever the set's size."""
        from kgan.metrics.reference import from_recipe

        return from_recipe(self.reference_recipe(cfg))

    def reference_recipe(self, cfg) -> dict:
        """`reference`'s arguments as JSON: a multi-worker run's workers rebuild it from them."""
        card = json.loads(Path(self.output().path).read_text())
        data = self.data_config
        return {"source": data.source, "data_dir": data.data_dir or None,
                "n": max(cfg.eval.num_samples, REFERENCE_IMAGES), "seed": cfg.seed,
                "digest": card.get("sha256") or card["source_sha256"]}


class TrainClassifier(Stage):
    """The evaluation feature extractor for data sets where Inception does not fit (MNIST-sized); also run
    alone by `kgan classifier` (kgan.classifiers)."""

    resources = {"gpu": 1}

    def requires(self):
        return self.stage(PrepareDataset)

    def output(self):
        return luigi.LocalTarget(str(classifiers.classifier_path(self.root, self.digest)))

    def run(self):
        from kgan.data.sources import open_source, read_labels
        from kgan.metrics.classifier import train_on_records
        from kgan.metrics.reference import indexed_records

        cfg, data = self.cfg, self.requires().data_config
        src = open_source(data.source, data.data_dir or None)
        records, decode = indexed_records(src)
        labels = src.labels if src.labels is not None else read_labels(data.source, data.data_dir or None)
        self.progress(0, f"training the evaluation classifier on {src.count} images (streamed)")
        train_on_records(records, labels, src.single_shape(), cfg.eval.classifier_epochs, self.output().path,
                         seed=cfg.eval.classifier_seed, shuffle_buffer=cfg.data.shuffle_buffer, decode=decode)
        self.progress(100, "classifier trained")


class TrainGAN(Stage):
    """Resumable training: a failed or killed run resumes from its last checkpoint when rerun."""

    resources = {"gpu": 1}

    def requires(self):
        reqs = {"data": self.stage(PrepareDataset)}
        if self.cfg.eval.history_every and self.cfg.eval.features == "classifier":
            reqs["classifier"] = self.stage(TrainClassifier)
        return reqs

    @property
    def run_dir(self) -> Path:
        return self.experiment_dir / f"train-{self.digest}"

    def output(self):
        return luigi.LocalTarget(str(self.run_dir / "train_complete.json"))

    def run(self):
        import dataclasses

        from kgan import io
        from kgan.data import check_labels_fit
        from kgan.runs import read_run_info
        from kgan.training import LuigiProgress, train

        cfg, reqs = self.cfg, self.requires()
        cfg = dataclasses.replace(cfg, data=reqs["data"].data_config)
        check_labels_fit(cfg)  # before any step: a conditional model on labels that do not fit
        if cfg.train.strategy == "multi_worker":
            self.launch_workers(cfg, reqs)
            io.write_json(self.output().path, read_run_info(self.run_dir))
            return
        callbacks = [LuigiProgress(self, cfg.train.steps)]
        if cfg.eval.history_every:
            from kgan.metrics.history import from_spec_dict

            callbacks.append(from_spec_dict(self.run_dir, self.metric_history(cfg, reqs), cfg.data))
        train(cfg, self.run_dir, resume=True, callbacks=callbacks)
        io.write_json(self.output().path, read_run_info(self.run_dir))

    def launch_workers(self, cfg, reqs):
        """`train.workers` processes (`kgan.workers`: local, or through `train.launcher`) train the run; done when
        every worker is, the chief's run complete. A failed worker fails the stage; a rerun resumes the run. With
        `eval.history_every` the workers get the metric history's spec (`--history`): the chief records it."""
        from kgan import io, workers
        from kgan.config import dump_toml
        from kgan.errors import WorkerError

        config = self.run_dir / WORKERS_CONFIG
        io.write_text(config, dump_toml(cfg))
        extra = []
        if cfg.eval.history_every:
            from kgan.metrics.history import write_spec

            write_spec(self.run_dir / WORKERS_HISTORY, self.metric_history(cfg, reqs))
            extra = ["--history", str(self.run_dir / WORKERS_HISTORY)]
        self.progress(0, f"training with {cfg.train.workers} workers")
        codes = workers.run_workers(workers.train_command(str(config), str(self.run_dir), extra), cfg.train.workers,
                                    template=cfg.train.launcher)
        if workers.failed(codes):
            raise WorkerError(f"{self.run_dir}: multi-worker training failed ({workers.failed(codes)}); rerun the "
                              f"pipeline to resume from the last checkpoint")
        self.progress(100, "trained")

    def metric_history(self, cfg, reqs) -> dict:
        """`kgan.metrics.history.MetricHistory`'s spec (JSON: the reference as its recipe): FID/IS every
        `eval.history_every` steps on a few samples, the gallery's metric-history plot."""
        extractor = (f"classifier:{reqs['classifier'].output().path}" if "classifier" in reqs
                     else f"inception:{cfg.eval.inception_handle}")
        return {"extractor": extractor, "reference": reqs["data"].reference_recipe(self.cfg),
                "every": cfg.eval.history_every, "n": cfg.eval.history_samples, "seed": cfg.seed,
                "cache_dir": str(Path(self.root).resolve() / "feature_cache"), "reference_name": reqs["data"].digest}


class ExportModel(Stage):
    """ROOT/saved_models/NAME/VERSION (a relative `export.base` is under the pipeline root, an absolute one is
    used as it is); the marker records the absolute path of the version this config produced, so a rerun from
    any directory finds it."""

    def requires(self):
        return self.stage(TrainGAN)

    def output(self):
        return luigi.LocalTarget(str(self.experiment_dir / f"export-{self.digest}.json"))

    def run(self):
        from kgan import io
        from kgan.export import export_run

        export = self.cfg.export
        base = Path(self.root).resolve() / export.base  # an absolute export.base replaces the root
        version_dir = export_run(self.requires().run_dir, export.name or self.cfg.name, base=base)
        io.write_json(self.output().path, {"saved_model": str(version_dir.resolve())})

    @property
    def saved_model(self) -> str:
        return json.loads(Path(self.output().path).read_text())["saved_model"]


class Evaluate(Stage):
    """Scores the exported model (what is served) against the prepared data; metrics JSON. Each of
    `eval.baselines` is its own experiment (`registry.baseline_config`) trained, exported and evaluated by
    these same stages on the same data; its metrics become a reference point of this report. A report with FID
    and PSNR gets its perception-distortion plot beside it (`report_perception_distortion.png`)."""

    resources = {"gpu": 1}

    def requires(self):
        from kgan.models.registry import baseline_config  # TensorFlow-free

        cfg = self.cfg
        reqs = {"data": self.stage(PrepareDataset), "export": self.stage(ExportModel)}
        if cfg.eval.features == "classifier":
            reqs["classifier"] = self.stage(TrainClassifier)
        reqs["baselines"] = {name: Evaluate.for_config(baseline_config(cfg, name)[1], self.root)
                             for name in cfg.eval.baselines}
        return reqs

    def output(self):
        return luigi.LocalTarget(str(self.experiment_dir / f"eval-{self.digest}" / "report.json"))

    def run(self):
        from kgan import io
        from kgan.gallery import perception_distortion
        from kgan.metrics import evaluate, generator_from_path
        from kgan.metrics.report import add_reference_point
        from kgan.models.registry import baseline_config, check_evaluation_network

        cfg, reqs = self.cfg, self.requires()
        if cfg.eval.features == "classifier":
            extractor = f"classifier:{reqs['classifier'].output().path}"
            check_evaluation_network(cfg, reqs["classifier"].output().path)
        else:
            extractor = f"inception:{cfg.eval.inception_handle}"
        reference = reqs["data"].reference(cfg)
        generator = generator_from_path(reqs["export"].saved_model)
        self.progress(0, f"scoring {cfg.eval.num_samples} samples with {extractor}")
        data_cfg = reqs["data"].data_config
        report = evaluate(generator, reference, extractor, metrics=cfg.eval.metrics, n=cfg.eval.num_samples,
                          seed=cfg.seed, cache_dir=Path(self.root) / "feature_cache",
                          reference_name=reqs["data"].digest, data=model_data(generator, cfg, data_cfg),
                          data_config=data_cfg)
        for name, task in reqs["baselines"].items():
            add_reference_point(report, name, baseline_config(cfg, name)[0], task.output().path)
        report = perception_distortion.write_beside(report, self.output().path, label=cfg.name)
        io.write_json(self.output().path, report)
        self.progress(100, "evaluated")


def model_data(generator, cfg, data_cfg):
    """Data-feature batches for a model whose inputs come from data or whose outputs have targets (None for
    generators from noise), from `data_cfg` (the prepared shard with the config's transform): the held-out
    examples when `data.holdout` keeps some."""
    from kgan.data.features import feature_batches

    if not generator.fed_from_data:
        return None
    return feature_batches(data_cfg, cfg.data.batch_size, seed=cfg.seed, split="evaluation")


class RenderGallery(Stage):
    """Static HTML gallery of the run: samples, progression, latent walks, losses, metrics."""

    def requires(self):
        return {"train": self.stage(TrainGAN), "eval": self.stage(Evaluate), "data": self.stage(PrepareDataset)}

    def output(self):
        return luigi.LocalTarget(str(self.experiment_dir / f"gallery-{self.digest}" / "index.html"))

    def run(self):
        from kgan.gallery import render_gallery

        reqs = self.requires()
        classifier = reqs["eval"].requires().get("classifier")
        data = reqs["data"].data_config
        render_gallery(reqs["train"].run_dir, Path(self.output().path).parent, data=data.source,
                       data_dir=data.data_dir or None, report=reqs["eval"].output().path,
                       classifier=classifier.output().path if classifier else None)


class Pipeline(luigi.Task):
    """Everything for one experiment config; writes a summary of where each output is."""

    config = luigi.Parameter(description="experiment TOML file")
    root = luigi.Parameter(default="runs")
    announce = luigi.BoolParameter(default=True, significant=False,
                                   description="print where every output is when done (`kgan pipeline` "
                                               "prints it itself, also when everything was up to date)")

    @property
    def cfg(self):
        from kgan.config import load_config

        return load_config(self.config)

    def requires(self):
        cfg = self.cfg
        return {name: cls.for_config(cfg, self.root) for name, cls in
                (("data", PrepareDataset), ("train", TrainGAN), ("export", ExportModel),
                 ("eval", Evaluate), ("gallery", RenderGallery))}

    def complete(self):
        """Complete only while every stage's output still exists (deleting the gallery reruns it)."""
        return super().complete() and all(task.complete() for task in self.requires().values())

    def output(self):
        cfg = self.cfg
        digest = stage_digest(cfg, "RenderGallery")
        return luigi.LocalTarget(str(Path(self.root) / cfg.name / f"pipeline-{digest}.json"))

    def run(self):
        from kgan import io

        summary = summarize(self.requires())
        io.write_json(self.output().path, summary)
        if self.announce:
            print("\n".join(where_lines(summary)), flush=True)


def summarize(reqs: dict) -> dict:
    """Where every output is, as absolute paths."""
    paths = {"dataset_card": reqs["data"].output().path, "run_dir": reqs["train"].run_dir,
             "saved_model": reqs["export"].saved_model, "metrics_report": reqs["eval"].output().path,
             "gallery": reqs["gallery"].output().path}
    return {key: str(Path(path).resolve()) for key, path in paths.items()}


def where_lines(summary: dict) -> list[str]:
    """The closing "where everything is" lines of a pipeline run."""
    return ["", "kgan pipeline finished:"] + [f"  {key:15s} {path}" for key, path in summary.items()]
