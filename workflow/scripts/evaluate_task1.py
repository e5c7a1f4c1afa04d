"""Rule evaluate_task1: every attack x feature space x group, on dev (cross-validated), the
member-vs-member control and the test images, with bootstrap CIs and permutation p-values.

Every input is looked up by its key (:func:`ctprints.paths.input_key`), never by its position."""

from ctprints.evaluation import evaluation_table
from ctprints.paths import input_key
from ctprints.runlog import configure

configure(snakemake.log[0])
params = snakemake.params
groups, embedders = params.groups, params.embedders


def path(kind, *parts):
    return snakemake.input[input_key(kind, *parts)]


table = evaluation_table(
    truth={group: path("truth", group) for group in groups},
    scores={
        (group, embedder): path("scores", group, embedder)
        for group in groups
        for embedder in embedders
    },
    runs={
        (group, embedder): {
            attack: path("run", group, f"{attack}_{embedder}") for attack in params.attacks
        }
        for group in groups
        for embedder in embedders
    },
    paper={
        (group, embedder, fraction): path("paper", group, f"{embedder}_f{fraction}")
        for group in groups
        for embedder, fraction in params.paper
    },
    paper_runs={
        (group, embedder, fraction): path("paper_run", group, f"paper_f{fraction}_{embedder}")
        for group in groups
        for embedder, fraction in params.paper
    },
    autogluon={
        (group, embedder): path("autogluon", group, embedder)
        for group in groups
        for embedder in params.autogluon
    },
    autogluon_runs={
        (group, embedder): path("run", group, f"autogluon_{embedder}")
        for group in groups
        for embedder in params.autogluon
    },
    n_boot=params.n_boot,
    n_permutations=params.n_permutations,
    seed=params.seed,
)
table.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.4f")
