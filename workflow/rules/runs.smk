# Stage 2: runs. One train and one evaluate job per cell of every study's grid
# (study x dataset x method x setting x seed); the study module does the work.


rule train:
    input:
        data=run_data,
        needs=run_needs,
    output:
        "results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/train.json",
    log:
        "results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/train.log",
    benchmark:
        "results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/train.benchmark.tsv"
    params:
        spec=run_spec,
        run_dir=run_dir,
    conda:
        "../../envs/effrepro.yaml"
    threads: train_threads
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=train_gpu,
    message:
        "train {wildcards.study}/{wildcards.dataset}/{wildcards.method}/{wildcards.setting} seed {wildcards.seed}"
    shell:
        "effrepro train --spec {params.spec:q} --run-dir {params.run_dir} --data {input.data}"
        " --needs {input.needs} --threads {threads} --gpus {resources.gpu} > {log} 2>&1"


rule evaluate:
    input:
        trained="results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/train.json",
        data=run_data,
        needs=run_needs,
    output:
        "results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/metrics.json",
    log:
        "results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/evaluate.log",
    benchmark:
        "results/{scale}/{study}/{dataset}/{method}/{setting}/seed{seed}/evaluate.benchmark.tsv"
    params:
        spec=run_spec,
        run_dir=run_dir,
    conda:
        "../../envs/effrepro.yaml"
    threads: eval_threads
    resources:
        mem_mb=eval_mem_mb,
        runtime=eval_runtime,
        gpu=eval_gpu,
    message:
        "evaluate {wildcards.study}/{wildcards.dataset}/{wildcards.method}/{wildcards.setting} seed {wildcards.seed}"
    shell:
        "effrepro evaluate --spec {params.spec:q} --run-dir {params.run_dir} --data {input.data}"
        " --needs {input.needs} --threads {threads} --gpus {resources.gpu} > {log} 2>&1"
