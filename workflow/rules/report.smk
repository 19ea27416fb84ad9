# Stage 3: tables. collect gathers a study's runs (with provenance and Snakemake's benchmark
# costs) into one long table; table aggregates it into paper-style tables; figure draws from a
# table's CSV (scatter and curve figures also from the study's runs); index lists what was built
# and what was left out.


rule collect:
    input:
        study_metrics,
    output:
        "results/{scale}/{study}/runs.parquet",
    log:
        "logs/{scale}/collect/{study}.log",
    benchmark:
        "logs/{scale}/collect/{study}.benchmark.tsv"
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "collect runs of study {wildcards.study}"
    shell:
        "effrepro collect --metrics {input} --out {output} > {log} 2>&1"


rule table:
    input:
        table_runs,
    output:
        csv=report(
            "reports/{scale}/{table}.csv",
            caption="../report/table.rst",
            category=table_study,
            subcategory="{table}",
            labels={"table": "{table}", "format": "csv"},
        ),
        md="reports/{scale}/{table}.md",
        tex="reports/{scale}/{table}.tex",
    log:
        "logs/{scale}/table/{table}.log",
    benchmark:
        "logs/{scale}/table/{table}.benchmark.tsv"
    params:
        study=table_study,
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "table {wildcards.table}"
    shell:
        "effrepro table --study {params.study} --table {wildcards.table} --scale {wildcards.scale}"
        " --runs {input} --out-prefix reports/{wildcards.scale}/{wildcards.table} > {log} 2>&1"


rule figure:
    input:
        unpack(figure_runs),
        csv="reports/{scale}/{table}.csv",
    output:
        png=report(
            "reports/{scale}/figures/{table}-{figure}.png",
            caption="../report/figure.rst",
            category=table_study,
            subcategory="{table}",
            labels={"table": "{table}", "figure": "{figure}"},
        ),
        pdf="reports/{scale}/figures/{table}-{figure}.pdf",
    log:
        "logs/{scale}/figure/{table}-{figure}.log",
    params:
        study=table_study,
        runs=lambda wildcards: figure_runs(wildcards).get("runs", ""),
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    resources:
        mem_mb=1000,
        runtime=5,
    message:
        "figure {wildcards.table}-{wildcards.figure}"
    shell:
        "effrepro figure --study {params.study} --table {wildcards.table} --figure {wildcards.figure}"
        " --csv {input.csv} --runs '{params.runs}' --out {output.png} > {log} 2>&1"


rule index:
    input:
        tables=table_files(SCALE),
        figures=figure_files(SCALE),
        claims=scorecard_files(SCALE)[:1],
    output:
        report("reports/{scale}/README.md", caption="../report/index.rst", category="Index"),
    log:
        "logs/{scale}/index.log",
    params:
        tables=index_tables,
        left_out=left_out_lines,
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    resources:
        mem_mb=500,
        runtime=5,
    message:
        "index of reports/{wildcards.scale}"
    shell:
        "effrepro index --scale {wildcards.scale} --tables {params.tables} --claims {input.claims}"
        " --left-out {params.left_out:q} --out {output} > {log} 2>&1"
