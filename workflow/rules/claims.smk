# Stage 4: the claims scorecard. claims evaluates one study's paper claims on its collected runs
# (so a change to one study re-evaluates only its claims); scorecard puts every study's claims on
# one page with a forest plot of their effects. Rows a run cannot decide say why (planned in
# methods/core/claims_plan.py).


rule claims:
    input:
        claims_runs,
    output:
        "results/{scale}/{study}/claims.csv",
    log:
        "logs/{scale}/claims/{study}.log",
    benchmark:
        "logs/{scale}/claims/{study}.benchmark.tsv"
    params:
        reasons=claims_reasons,
        declared=claims_declared,
        runs=lambda wildcards, input: f"--runs {input[0]}" if input else "",
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "claims of study {wildcards.study}"
    shell:
        "effrepro claims --study {wildcards.study} --scale {wildcards.scale} {params.runs}"
        " --reasons {params.reasons:q} --declared {params.declared} --out {output} > {log} 2>&1"


rule scorecard:
    input:
        claims_files(SCALE),
    output:
        csv=report(
            "reports/{scale}/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims", "format": "csv"},
        ),
        md=report(
            "reports/{scale}/claims.md",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims", "format": "md"},
        ),
        tex="reports/{scale}/claims.tex",
        figure=report(
            "reports/{scale}/figures/claims-effects.png",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims", "format": "forest plot"},
        ),
    log:
        "logs/{scale}/scorecard.log",
    benchmark:
        "logs/{scale}/scorecard.benchmark.tsv"
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    resources:
        mem_mb=1000,
        runtime=5,
    message:
        "claims scorecard of reports/{wildcards.scale}"
    shell:
        "effrepro scorecard --claims {input} --out-prefix reports/{wildcards.scale}/claims"
        " --figure {output.figure} > {log} 2>&1"
