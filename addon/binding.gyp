{
  "targets": [
    {
      "target_name": "mfnas_native",
      "sources": ["src/addon.cc", "src/kernels.cc"],
      "include_dirs": ["<!@(node -p \"process.env.MFNAS_DNNL_INCLUDE || ''\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fopenmp", "-fexceptions", "-Wall", "-Wno-unused-parameter"],
      "ldflags": ["-fopenmp"],
      "libraries": ["<!@(node -p \"process.env.MFNAS_DNNL_LIB ? '-L' + process.env.MFNAS_DNNL_LIB + ' -Wl,-rpath,' + process.env.MFNAS_DNNL_LIB : ''\")", "-ldnnl"],
      "defines": ["NAPI_VERSION=8"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O2", "-ffp-contract=off", "-Xpreprocessor", "-fopenmp"]
      }
    }
  ]
}
