"""KFP SDK twin (with kfp-kubernetes): Kubernetes settings on tasks, written by the SDK as the
second YAML document (the platform spec): a PVC created, mounted and deleted, a secret as env
and as a volume, a config map as env and as a volume, a node selector, a toleration, pod
labels and annotations, an image pull secret, a PVC named by a pipeline parameter."""
import sys

from kfp import compiler, dsl, kubernetes


@dsl.component
def write(text: str, path: str):
    with open(path, "w") as f:
        f.write(text)


@dsl.component
def read(path: str) -> str:
    with open(path) as f:
        return f.read()


@dsl.pipeline(name="platform-kubernetes")
def platform(text: str = "hello", claim: str = "shared-data"):
    pvc = kubernetes.CreatePVC(
        pvc_name_suffix="-scratch",
        access_modes=["ReadWriteOnce"],
        size="1Gi",
        storage_class_name="standard",
    )
    w = write(text=text, path="/data/out.txt")
    kubernetes.mount_pvc(w, pvc_name=pvc.outputs["name"], mount_path="/data")
    kubernetes.use_secret_as_env(
        w, secret_name="db-credentials", secret_key_to_env={"password": "DB_PASSWORD"}
    )
    kubernetes.use_secret_as_volume(w, secret_name="tls", mount_path="/etc/tls", optional=True)
    kubernetes.use_config_map_as_env(
        w, config_map_name="settings", config_map_key_to_env={"mode": "MODE"}
    )
    kubernetes.use_config_map_as_volume(w, config_map_name="settings", mount_path="/etc/settings")
    kubernetes.add_node_selector(w, label_key="cloud.google.com/gke-accelerator", label_value="nvidia-tesla-t4")
    kubernetes.add_toleration(w, key="gpu", operator="Equal", value="true", effect="NoSchedule")
    kubernetes.add_pod_label(w, label_key="team", label_value="ml")
    kubernetes.add_pod_annotation(w, annotation_key="owner", annotation_value="canvas")
    kubernetes.set_image_pull_secrets(w, secret_names=["registry-key"])

    r = read(path="/data/out.txt").after(w)
    kubernetes.mount_pvc(r, pvc_name=pvc.outputs["name"], mount_path="/data")
    kubernetes.mount_pvc(r, pvc_name=claim, mount_path="/shared")
    kubernetes.add_toleration(r, key="spot", operator="Exists")
    delete = kubernetes.DeletePVC(pvc_name=pvc.outputs["name"]).after(r)


if __name__ == "__main__":
    compiler.Compiler().compile(platform, sys.argv[1])
