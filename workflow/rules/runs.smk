# Stage 2: runs. One train and one evaluate job per cell of every study's grid
# (study x dataset x method x setting x seed); the study module does the work. Runs whose study
# evaluates them in training get one train_evaluate job instead, which writes the same two files.


ruleorder: train_evaluate > train
ruleorder: train_evaluate > evaluate


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
    priority: train_priority
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


rule train_evaluate:
    input:
        data=run_data,
        needs=run_needs,
    output:
        trained="results/{scale}/{run}/train.json",
        metrics="results/{scale}/{run}/metrics.json",
    log:
        "results/{scale}/{run}/train_evaluate.log",
    benchmark:
        "results/{scale}/{run}/train_evaluate.benchmark.tsv"
    wildcard_constraints:
        run=EVALUATED_IN_TRAINING,
    params:
        spec=run_spec,
        run_dir=run_dir,
    conda:
        "../../envs/effrepro.yaml"
    threads: both_threads
    priority: train_priority
    resources:
        mem_mb=both_mem_mb,
        runtime=both_runtime,
        gpu=both_gpu,
    message:
        "train and evaluate {wildcards.run}"
    shell:
        "effrepro train-evaluate --spec {params.spec:q} --run-dir {params.run_dir} --data {input.data}"
        " --needs {input.needs} --threads {threads} --gpus {resources.gpu} > {log} 2>&1"
