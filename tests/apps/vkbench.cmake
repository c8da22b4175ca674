# vkbench as a user drives it (tests/apps/vkbench_check.py): a quick benchmark of the default
# device written as JSON and checked field by field, `compare` with a PyTorch report, and the
# errors a user can make. About 15 s on lavapipe, most of it compiling the seed net's pipelines.
add_test(NAME app.vkbench COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/apps/vkbench_check.py $<TARGET_FILE:vkbench>)
set_tests_properties(app.vkbench PROPERTIES ENVIRONMENT "VKMNIST_VALIDATION=1" TIMEOUT 600)
# The same report with the kernels shaped for GPUs (VKMNIST_KERNELS=gpu), as a GPU runs it.
add_test(NAME app.vkbench_gpu_shape
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/apps/vkbench_check.py $<TARGET_FILE:vkbench> --gpu-shape)
set_tests_properties(app.vkbench_gpu_shape PROPERTIES ENVIRONMENT "VKMNIST_VALIDATION=1" TIMEOUT 600)
