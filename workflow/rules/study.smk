# The study: every scenario at every demo seed, each a demo-built dataset analysed like any
# other, then one leaderboard of means and spreads over the seeds.


rule study_leaderboard:
    input:
        PLAN.study_files(),
    output:
        table=PATHS.leaderboard,
        markdown=report(
            PATHS.leaderboard_md,
            caption="../report/leaderboard.rst",
            category="Study",
            labels={"table": "leaderboard"},
        ),
        figure=report(
            PATHS.leaderboard_plot,
            caption="../report/leaderboard.rst",
            category="Study",
            labels={"figure": "Task 2 accuracy by scenario"},
        ),
        task1_figure=report(
            PATHS.leaderboard_task1_plot,
            caption="../report/leaderboard.rst",
            category="Study",
            labels={"figure": "Task 1 AUC by attack"},
        ),
        primary=PATHS.primary,
        frozen=PATHS.frozen,
    log:
        "logs/study_leaderboard/study.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        datasets=PLAN.study_datasets(),
        primary=lookup(dpath="study/primary", within=config),
        repo=workflow.basedir,
    script:
        "../scripts/study_leaderboard.py"
