# Each library exports an include root that holds only its own headers (links into the source
# tree, made at configure time), so a target sees what it links and nothing else: the engine sees
# engine/; the reference sees nn/reference/ and the two plain headers it is built from, never the
# engine or the device-side nn; nn sees nn/ (and, through what it links, the engine). An include
# that breaks the layering (apps -> nn -> engine, the reference apart) fails to compile.
set(VKMNIST_INCLUDE_ROOTS ${PROJECT_BINARY_DIR}/include-roots)

# vkmnist_include_root(<root name> <path relative to the source tree>...): the root
# ${VKMNIST_INCLUDE_ROOTS}/<root name>, with each path linked at the same relative place.
function(vkmnist_include_root root)
  foreach(path IN LISTS ARGN)
    set(link ${VKMNIST_INCLUDE_ROOTS}/${root}/${path})
    get_filename_component(parent ${link} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${path} ${link} SYMBOLIC)  # replaces a stale one
  endforeach()
endfunction()
